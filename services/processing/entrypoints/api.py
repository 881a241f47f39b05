"""The staff console's case routes (read a case, act on it) and what every console route takes:
its context and the calling officer. Taking the next case is in `queues_api`, the at-risk list in
`supervision_api`, a case's views in `case_views`.

Officers act only on cases of their own service point (another's is a 404). Two officers who
act on one case at once: one wins, the other gets 409 and reads the case again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.processing.domain.case import Calendar, Case
from services.processing.entrypoints.case_views import CaseDetails, CaseView
from services.processing.service_layer import cases
from services.processing.service_layer.cases import NoServicePoint, Officer, Turns
from services.processing.service_layer.ports import AtRisk, CaseRepository, WorkQueues
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CollectionMethod
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
