"""Deadline warnings and breaches: each fires once per deadline, late rather than never."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.processing.domain.case import Case, CaseState
from services.processing.domain.deadlines import Mark, minute_of, timers
from services.processing.service_layer import cases, deadlines
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.identity import Role
from tests.builders import T0, request_submitted
from tests.fakes import FakeCaseRepository, FakeTimers, FlatCalendar
from tests.fakes_letters import FakeLetterRepository

CALENDAR = FlatCalendar()
VERIFIER = Actor(kind=ActorKind.STAFF, id="verifier-1", channel=Channel.API)


async def opened(repository: FakeCaseRepository, request_id: str = "req-1") -> Case:
    await cases.open_case_for_request(
        submitted=request_submitted(request_id),
        event_id=f"evt-{request_id}",
        repository=repository,
        calendar=CALENDAR,
        default_service_point="KANTOR_DINAS",
        now=T0,
    )
    repository.outbox.clear()
    return repository.cases[request_id]


async def set_timers(
    repository: FakeCaseRepository, timers_store: FakeTimers, *, now: datetime
) -> None:
    loaded = await repository.get("req-1")
    assert loaded is not None
    case = loaded[0]
    await deadlines.set_deadline_timers(
        request_id=case.request_id,
        start=case.opened_at,
        due_at=case.due_at,
        repository=repository,
        timers=timers_store,
        calendar=CALENDAR,
        now=now,
    )


def marks(repository: FakeCaseRepository) -> list[tuple[str, int | None]]:
    found: list[tuple[str, int | None]] = []
    for event in repository.outbox:
        data = event.data
        if event.type == DeadlineWarning.event_type:
            found.append(("warning", data["percent"]))
        elif event.type == DeadlineBreached.event_type:
            found.append(("breach", None))
    return found


def test_a_deadline_has_warnings_at_half_and_four_fifths_and_a_breach() -> None:
    due = T0 + timedelta(days=1)

    set_timers = timers("req-1", T0, due, CALENDAR)

    assert [(timer.mark, timer.fire_at) for timer in set_timers] == [
        (Mark.WARNING_50, T0 + timedelta(hours=12)),
        (Mark.WARNING_80, T0 + timedelta(hours=19, minutes=12)),
        (Mark.BREACH, due),
    ]


async def test_timers_fire_once_each_in_order_of_time() -> None:
    repository, timers_store = FakeCaseRepository(), FakeTimers()
    case = await opened(repository)
    await set_timers(repository, timers_store, now=T0)

    for hours in (1, 13, 13, 20, 25, 30):
        await deadlines.fire_due(
            timers=timers_store,
            repository=repository,
            letters=FakeLetterRepository(),
            now=T0 + timedelta(hours=hours),
        )

    assert marks(repository) == [("warning", 50), ("warning", 80), ("breach", None)]
    breach = repository.outbox[-1].data
    assert datetime.fromisoformat(breach["due_at"]) == case.due_at


async def test_after_an_outage_the_missed_timers_fire_once_even_from_two_instances() -> None:
    repository, timers_store = FakeCaseRepository(), FakeTimers()
    await opened(repository)
    await set_timers(repository, timers_store, now=T0)
    await deadlines.fire_due(
        timers=timers_store, repository=repository, letters=FakeLetterRepository(), now=T0
    )

    back_after_two_days = T0 + timedelta(days=2)
    await asyncio.gather(
        *(
            deadlines.fire_due(
                timers=timers_store,
                repository=repository,
                letters=FakeLetterRepository(),
                now=back_after_two_days,
            )
            for _ in range(2)
        )
    )

    assert sorted(marks(repository), key=str) == sorted(
        [("warning", 50), ("warning", 80), ("breach", None)], key=str
    )
    assert timers_store.cursor == minute_of(back_after_two_days) - timedelta(minutes=1)


async def test_timers_set_late_for_a_passed_moment_fire_at_once() -> None:
    repository, timers_store = FakeCaseRepository(), FakeTimers()
    await opened(repository)
    timers_store.cursor = minute_of(T0 + timedelta(days=3))

    await set_timers(repository, timers_store, now=T0 + timedelta(days=3))

    assert marks(repository) == [("warning", 50), ("warning", 80), ("breach", None)]


async def test_no_warning_while_the_citizen_must_act_nor_for_a_deadline_that_moved() -> None:
    repository = FakeCaseRepository()
    case = await opened(repository)
    old_timers = timers("req-1", case.opened_at, case.due_at, CALENDAR)
    loaded = await repository.get("req-1")
    assert loaded is not None
    paused, revision = loaded
    paused.claim_for(VERIFIER, Role.VERIFIER, now=T0)
    paused.request_revision(VERIFIER, ["Foto KK"], now=T0 + timedelta(hours=1), calendar=CALENDAR)
    await repository.save(paused, revision=revision, outbox=[])

    fired_while_paused = [
        await deadlines.fire(timer, repository=repository, letters=FakeLetterRepository(), now=T0)
        for timer in old_timers
    ]
    loaded = await repository.get("req-1")
    assert loaded is not None
    resumed, revision = loaded
    resumed.resubmit(VERIFIER, now=T0 + timedelta(days=2), calendar=CALENDAR)
    await repository.save(resumed, revision=revision, outbox=[])
    fired_after = [
        await deadlines.fire(timer, repository=repository, letters=FakeLetterRepository(), now=T0)
        for timer in old_timers
    ]

    assert fired_while_paused == [0, 0, 0]
    assert fired_after == [0, 0, 0]
    assert repository.cases["req-1"].state is CaseState.IN_VERIFICATION


async def test_a_finished_case_gets_no_breach() -> None:
    repository = FakeCaseRepository()
    case = await opened(repository)
    loaded = await repository.get("req-1")
    assert loaded is not None
    cancelled, revision = loaded
    cancelled.cancel(VERIFIER, now=T0)
    await repository.save(cancelled, revision=revision, outbox=[])
    repository.outbox.clear()
    [*_, breach] = timers("req-1", case.opened_at, case.due_at, CALENDAR)

    fired = await deadlines.fire(
        breach, repository=repository, letters=FakeLetterRepository(), now=case.due_at
    )

    assert fired == 0
    assert repository.outbox == []


async def test_a_warning_names_who_holds_the_case() -> None:
    repository = FakeCaseRepository()
    case = await opened(repository)
    loaded = await repository.get("req-1")
    assert loaded is not None
    held, revision = loaded
    held.claim_for(VERIFIER, Role.VERIFIER, now=T0)
    await repository.save(held, revision=revision, outbox=[])
    repository.outbox.clear()
    [half, *_] = timers("req-1", case.opened_at, case.due_at, CALENDAR)

    await deadlines.fire(
        half, repository=repository, letters=FakeLetterRepository(), now=half.fire_at
    )

    [warning] = repository.outbox
    assert warning.data["holder"] == "verifier-1"
    assert warning.data["percent"] == 50
