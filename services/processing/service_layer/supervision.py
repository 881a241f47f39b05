"""Use cases of a service point's supervisor: the cases at risk, by time left, and moving a case
to another officer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.processing.domain.case import Case
from services.processing.service_layer.ports import AtRisk, CaseRepository
from shared.events.models.cases import DeadlineBreached, DeadlineWarning


async def note_at_risk(
    *, event: DeadlineWarning | DeadlineBreached, repository: CaseRepository, at_risk: AtRisk
) -> None:
    """Lists the case at its service point, which the event names (older events do not: then
    the case is read for it)."""
    service_point = event.service_point
    if service_point is None:
        loaded = await repository.get(event.request_id)
        if loaded is None:
            return
        service_point = loaded[0].service_point
    percent = event.percent if isinstance(event, DeadlineWarning) else 100
    await at_risk.note(service_point, event.request_id, event.due_at, percent)


@dataclass(frozen=True)
class CaseAtRisk:
    case: Case
    percent: int
    time_left: timedelta
    """Until the deadline, by the clock; negative once it passed."""


async def cases_at_risk(
    *, service_point: str, repository: CaseRepository, at_risk: AtRisk, now: datetime
) -> list[CaseAtRisk]:
    """The service point's cases whose warnings fired and that the office still works on, the
    least time left first; finished ones are dropped from the list."""
    listed = await at_risk.listed(service_point)
    found: list[CaseAtRisk] = []
    finished: list[str] = []
    for request_id, (_, percent) in listed.items():
        loaded = await repository.get(request_id)
        if loaded is None or loaded[0].stage is None:
            finished.append(request_id)
            continue
        case = loaded[0]
        found.append(CaseAtRisk(case=case, percent=percent, time_left=case.due_at - now))
    await at_risk.forget(service_point, finished)
    return sorted(found, key=lambda item: item.time_left)
