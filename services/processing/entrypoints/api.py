"""The staff console's HTTP API: take work, act on cases, read them.

Officers act only on cases of their own service point (another's is a 404). Two officers who
act on one case at once: one wins, the other gets 409 and reads the case again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.processing.domain.case import Calendar, Case
from services.processing.service_layer import cases, supervision
from services.processing.service_layer.cases import NoServicePoint, Officer, Turns
from services.processing.service_layer.ports import AtRisk, CaseRepository, WorkQueues
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CaseStage, CollectionMethod
from shared.http.error_bodies import error_response, error_responses
from shared.identity import Principal


@dataclass(frozen=True)
class ProcessingContext:
    repository: CaseRepository
    queues: WorkQueues
    at_risk: AtRisk
    calendar: Calendar
    clock: Clock
    turns: Turns = field(default_factory=Turns)


ContextDep = Annotated[ProcessingContext, Depends(provided(ProcessingContext))]
RequestIdPath = Annotated[UUID, Path(description="The request's id, which is its case's id.")]


def officer(caller: Principal | None) -> Officer:
    if caller is None or caller.service_point is None:
        raise NoServicePoint
    return Officer(
        actor=Actor(
            kind=ActorKind.STAFF,
            id=caller.subject,
            role=",".join(sorted(caller.roles)),
            service_point=caller.service_point,
            channel=Channel.API,
        ),
        roles=caller.roles,
        service_point=caller.service_point,
    )


class ClaimView(BaseModel):
    officer: str = Field(description="Who holds the case.")
    role: str = Field(description="The role they hold it in.")
    since: datetime


class CaseDocumentView(BaseModel):
    requirement: str = Field(description="Catalogue code of the requirement it fulfils.")
    document_id: str = Field(
        description="Intake's id of the file, read at intake's "
        "`GET /v1/requests/{request_id}/documents/{document_id}`."
    )


class CaseView(BaseModel):
    """A case as the console shows it."""

    request_id: str
    service_code: str
    state: str = Field(description="SUBMITTED, IN_VERIFICATION, NEEDS_REVISION, APPROVED, …")
    stage: CaseStage | None = Field(description="The work it waits for; none when finished.")
    service_point: str
    opened_at: datetime
    due_at: datetime = Field(description="The deadline on the office's working-day calendar.")
    claim: ClaimView | None = Field(description="Who has taken it, if anyone.")
    documents: list[CaseDocumentView] = Field(description="The documents intake received.")
    missing_documents: list[str] = Field(
        description="Catalogue codes of mandatory documents not received yet; the case is not "
        "verified while any is missing."
    )
    documents_complete: bool = Field(description="Whether every mandatory document is there.")

    @classmethod
    def of(cls, case: Case) -> CaseView:
        claim = case.claim
        return cls(
            request_id=case.request_id,
            service_code=case.service_code,
            state=case.state.value,
            stage=case.stage,
            service_point=case.service_point,
            opened_at=case.opened_at,
            due_at=case.due_at,
            claim=None
            if claim is None
            else ClaimView(officer=claim.officer, role=claim.role.value, since=claim.since),
            documents=[
                CaseDocumentView(requirement=requirement, document_id=document_id)
                for requirement, document_id in sorted(case.documents.items())
            ],
            missing_documents=sorted(case.missing_documents),
            documents_complete=case.documents_complete,
        )


class CaseDetails(CaseView):
    """A case with the applicant's personal data; every read is recorded for auditors."""

    applicant_name: str
    applicant_nik: str
    applicant_phone: str | None


class AtRiskView(BaseModel):
    case: CaseView
    percent: int = Field(description="Share of the working time passed: 50, 80, or 100 (late).")
    seconds_left: int = Field(description="Until the deadline by the clock; negative when late.")


class ReassignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    officer: str = Field(
        min_length=1, max_length=200, description="The `sub` of the officer who takes the case."
    )


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: str = Field(
        pattern=r"^[A-Z][A-Z_]{2,39}$",
        examples=["FUNERAL"],
        description="Why this case goes ahead of older ones (e.g. FUNERAL, ELDERLY, DISABLED, "
        "SUPERVISOR_INSTRUCTION); auditors see it.",
    )


class RevisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[str] = Field(
        min_length=1,
        max_length=20,
        description="What the citizen must fix, in Indonesian, one item each.",
    )
    documents: list[Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]] = Field(
        default_factory=list,
        max_length=20,
        description="Catalogue codes of the request's documents to send again; the "
        "citizen may replace only these. Unknown codes are refused with 409 "
        "`unknown_documents`.",
    )


class IssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9./-]+$")
    collection: CollectionMethod = Field(description="How the citizen gets the document.")


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, description="Why, for the citizen.")


STEP_ERRORS = {
    **error_responses(404, 422, 503),
    409: error_response(
        status.HTTP_409_CONFLICT,
        "The case is not in a state for this step, or another officer changed it meanwhile.",
    ),
}

router = APIRouter(prefix="/v1/cases", tags=["console"])
queues_router = APIRouter(prefix="/v1/queues", tags=["console"])
supervision_router = APIRouter(prefix="/v1/supervision", tags=["supervision"])


@queues_router.post(
    "/claim-next",
    responses={
        204: {"description": "Nothing waits for the caller's work."},
        **error_responses(422, 503),
    },
)
async def claim_next(
    context: ContextDep,
    caller: CallerDep,
    response: Response,
    stage: Annotated[
        CaseStage | None,
        Query(
            description="Only this stage's queue; else every stage of the caller's roles, in order."
        ),
    ] = None,
) -> CaseView | None:
    """The oldest waiting case of the caller's work and service point: priority cases first
    (death certificates, applicants aged 60 or more), then released ones, then the rest."""
    case = await cases.claim_next(
        officer=officer(caller),
        stage=stage,
        repository=context.repository,
        queues=context.queues,
        now=context.clock(),
        turns=context.turns,
    )
    if case is None:
        response.status_code = status.HTTP_204_NO_CONTENT
        return None
    return CaseView.of(case)


@router.get("/{request_id}", responses=error_responses(404, 422, 503))
async def read_case(
    request_id: RequestIdPath, context: ContextDep, caller: CallerDep
) -> CaseDetails:
    case = await cases.view(
        request_id=str(request_id),
        officer=officer(caller),
        repository=context.repository,
        now=context.clock(),
    )
    return CaseDetails(
        **CaseView.of(case).model_dump(),
        applicant_name=case.applicant.name,
        applicant_nik=case.applicant.nik,
        applicant_phone=case.applicant.phone,
    )


@router.post("/{request_id}/claim", responses=STEP_ERRORS)
async def claim(
    request_id: RequestIdPath, body: ClaimBody, context: ContextDep, caller: CallerDep
) -> CaseView:
    """Takes this case ahead of its turn; the reason is recorded for auditors."""
    case = await cases.claim(
        request_id=str(request_id),
        officer=officer(caller),
        reason_code=body.reason_code,
        repository=context.repository,
        now=context.clock(),
    )
    return CaseView.of(case)


@router.post("/{request_id}/release", responses=STEP_ERRORS)
async def release(request_id: RequestIdPath, context: ContextDep, caller: CallerDep) -> CaseView:
    """Puts a taken case back in its queue, ahead of newer ones."""
    acting, now = officer(caller), context.clock()
    return await _act(
        context, str(request_id), acting, now, lambda case: case.release(acting.actor, now=now)
    )


@router.post(
    "/{request_id}/verify",
    responses={
        **STEP_ERRORS,
        409: error_response(
            status.HTTP_409_CONFLICT,
            "The case is not in a state for this step, another officer changed it meanwhile, "
            "or a mandatory document is missing (`documents_missing`, naming them).",
        ),
    },
)
async def verify(request_id: RequestIdPath, context: ContextDep, caller: CallerDep) -> CaseView:
    """The request and its documents are in order: on to the head of office for approval.
    Refused while a mandatory document is missing; the case can be sent back instead."""
    acting, now = officer(caller), context.clock()
    return await _act(
        context, str(request_id), acting, now, lambda case: case.verify(acting.actor, now=now)
    )


@router.post("/{request_id}/approve", responses=STEP_ERRORS)
async def approve(request_id: RequestIdPath, context: ContextDep, caller: CallerDep) -> CaseView:
    acting, now = officer(caller), context.clock()
    return await _act(
        context, str(request_id), acting, now, lambda case: case.approve(acting.actor, now=now)
    )


@router.post("/{request_id}/complete", responses=STEP_ERRORS)
async def complete(request_id: RequestIdPath, context: ContextDep, caller: CallerDep) -> CaseView:
    """The citizen has the document."""
    acting, now = officer(caller), context.clock()
    return await _act(
        context, str(request_id), acting, now, lambda case: case.complete(acting.actor, now=now)
    )


@router.post("/{request_id}/request-revision", responses=STEP_ERRORS)
async def request_revision(
    request_id: RequestIdPath, body: RevisionBody, context: ContextDep, caller: CallerDep
) -> CaseView:
    """Sends the request back to the citizen; the deadline clock stops until they resubmit."""
    acting = officer(caller)
    now = context.clock()
    return await _act(
        context,
        str(request_id),
        acting,
        now,
        lambda case: case.request_revision(
            acting.actor, body.items, now=now, calendar=context.calendar, documents=body.documents
        ),
    )


@router.post("/{request_id}/issue", responses=STEP_ERRORS)
async def issue(
    request_id: RequestIdPath, body: IssueBody, context: ContextDep, caller: CallerDep
) -> CaseView:
    acting = officer(caller)
    now = context.clock()
    return await _act(
        context,
        str(request_id),
        acting,
        now,
        lambda case: case.issue(
            acting.actor,
            document_number=body.document_number,
            collection=body.collection,
            now=now,
        ),
    )


@router.post("/{request_id}/reject", responses=STEP_ERRORS)
async def reject(
    request_id: RequestIdPath, body: RejectBody, context: ContextDep, caller: CallerDep
) -> CaseView:
    acting = officer(caller)
    now = context.clock()
    return await _act(
        context,
        str(request_id),
        acting,
        now,
        lambda case: case.reject(acting.actor, body.reason, now=now),
    )


async def _act(
    context: ProcessingContext,
    request_id: str,
    acting: Officer,
    now: datetime,
    step: Callable[[Case], None],
) -> CaseView:
    case = await cases.act(
        request_id=request_id,
        officer=acting,
        step=step,
        repository=context.repository,
        now=now,
    )
    return CaseView.of(case)


@supervision_router.get("/at-risk", responses=error_responses(422, 503))
async def at_risk(context: ContextDep, caller: CallerDep) -> list[AtRiskView]:
    """The supervisor's service point's cases past half of their time, the least time left
    first, with who holds them."""
    cases_at_risk = await supervision.cases_at_risk(
        service_point=officer(caller).service_point,
        repository=context.repository,
        at_risk=context.at_risk,
        now=context.clock(),
    )
    return [
        AtRiskView(
            case=CaseView.of(item.case),
            percent=item.percent,
            seconds_left=int(item.time_left.total_seconds()),
        )
        for item in cases_at_risk
    ]


@router.post("/{request_id}/reassign", responses=STEP_ERRORS)
async def reassign(
    request_id: RequestIdPath, body: ReassignBody, context: ContextDep, caller: CallerDep
) -> CaseView:
    """A supervisor gives a taken case to another officer of the same service point."""
    acting, now = officer(caller), context.clock()
    return await _act(
        context,
        str(request_id),
        acting,
        now,
        lambda case: case.reassign(acting.actor, body.officer.strip(), now=now),
    )
