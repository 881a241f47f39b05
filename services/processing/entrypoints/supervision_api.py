"""The supervisor's view of their service point: the cases at risk of missing their deadline."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.processing.entrypoints.api import ContextDep, officer
from services.processing.entrypoints.case_views import CaseView
from services.processing.service_layer import supervision
from shared.access import CallerDep
from shared.http.error_bodies import error_responses

router = APIRouter(prefix="/v1/supervision", tags=["supervision"])


class AtRiskView(BaseModel):
    case: CaseView
    percent: int = Field(description="Share of the working time passed: 50, 80, or 100 (late).")
    seconds_left: int = Field(description="Until the deadline by the clock; negative when late.")


@router.get("/at-risk", responses=error_responses(422, 503))
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
