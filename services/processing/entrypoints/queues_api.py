"""The staff console's work queues: an officer takes the next case waiting for their work."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.processing.entrypoints.api import ContextDep, officer
from services.processing.entrypoints.case_views import CaseView
from services.processing.service_layer import cases
from shared.access import CallerDep
from shared.events.models.cases import CaseStage
from shared.http.error_bodies import error_responses

router = APIRouter(prefix="/v1/queues", tags=["console"])


@router.post(
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
