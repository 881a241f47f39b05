"""A supervisor sees the cases at risk, the least time left first, and moves a case to another
officer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.processing.domain.case import CaseRefused
from services.processing.service_layer import cases, supervision
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CaseReassigned, DeadlineBreached, DeadlineWarning
from shared.identity import Role
from tests.builders import SYSTEM, T0, case, request_submitted
from tests.fakes import FakeAtRisk, FakeCaseRepository, FlatCalendar

SUPERVISOR = Actor(kind=ActorKind.STAFF, id="supervisor-1", channel=Channel.API)
VERIFIER = Actor(kind=ActorKind.STAFF, id="verifier-1", channel=Channel.API)


async def opened(repository: FakeCaseRepository, request_id: str, hours: int) -> None:
    await cases.open_case_for_request(
        submitted=request_submitted(request_id),
        event_id=f"evt-{request_id}",
        repository=repository,
        calendar=FlatCalendar(),
        default_service_point="KANTOR_DINAS",
        now=T0 + timedelta(hours=hours),
    )


def warned(
    request_id: str, due_hours: int, percent: int | None
) -> DeadlineWarning | DeadlineBreached:
    common = {
        "actor": SYSTEM,
        "request_id": request_id,
        "state": "SUBMITTED",
        "at": T0,
        "due_at": T0 + timedelta(hours=due_hours),
        "holder": None,
    }
    if percent is None:
        return DeadlineBreached.model_validate(common)
    return DeadlineWarning.model_validate(common | {"percent": percent})


async def test_cases_at_risk_are_listed_least_time_left_first_and_finished_ones_dropped() -> None:
    repository, at_risk = FakeCaseRepository(), FakeAtRisk()
    for request_id, hours in (("later", 5), ("sooner", 0), ("cancelled", 1)):
        await opened(repository, request_id, hours)
    for event in (warned("later", 29, 50), warned("sooner", 24, 80), warned("cancelled", 25, 50)):
        await supervision.note_at_risk(event=event, repository=repository, at_risk=at_risk)
    loaded = await repository.get("cancelled")
    assert loaded is not None
    loaded[0].cancel(SYSTEM, now=T0)
    await repository.save(loaded[0], revision=loaded[1], outbox=[])

    listed = await supervision.cases_at_risk(
        service_point="KANTOR_DINAS",
        repository=repository,
        at_risk=at_risk,
        now=T0 + timedelta(hours=20),
    )

    assert [(item.case.request_id, item.percent) for item in listed] == [
        ("sooner", 80),
        ("later", 50),
    ]
    assert listed[0].time_left == timedelta(hours=4)
    assert set(at_risk.points["KANTOR_DINAS"]) == {"sooner", "later"}


async def test_a_breach_lists_the_case_as_fully_late() -> None:
    repository, at_risk = FakeCaseRepository(), FakeAtRisk()
    await opened(repository, "req-1", 0)

    await supervision.note_at_risk(
        event=warned("req-1", 24, None), repository=repository, at_risk=at_risk
    )

    assert at_risk.points["KANTOR_DINAS"]["req-1"][1] == 100


def test_a_supervisor_moves_a_claimed_case_to_another_officer() -> None:
    held = case("req-1")
    held.claim_for(VERIFIER, Role.VERIFIER, now=T0)

    held.reassign(SUPERVISOR, "verifier-2", now=T0 + timedelta(hours=1))

    assert held.claim is not None
    assert (held.claim.officer, held.claim.role) == ("verifier-2", Role.VERIFIER)
    moved = held.events[-1]
    assert isinstance(moved, CaseReassigned)
    assert (moved.from_officer, moved.to_officer, moved.actor) == (
        "verifier-1",
        "verifier-2",
        SUPERVISOR,
    )


@pytest.mark.parametrize("to", ["verifier-1", " "])
def test_reassigning_needs_a_claimed_case_and_another_officer(to: str) -> None:
    unclaimed = case("req-1")
    with pytest.raises(CaseRefused):
        unclaimed.reassign(SUPERVISOR, "verifier-2", now=T0)

    held = case("req-2")
    held.claim_for(VERIFIER, Role.VERIFIER, now=T0)
    with pytest.raises(CaseRefused):
        held.reassign(SUPERVISOR, to, now=T0)
