"""What every implementation of a storage port must do, fake or MongoDB alike.

Each class is abstract: a subclass named `Test…` provides a function-scoped `repository` fixture
holding an empty store (with its indexes created, where the implementation has any).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime, timedelta

import pytest

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from services.intake.domain.open_applications import OpenApplication
from services.intake.domain.tracking import TRACKING_PATTERN
from services.intake.service_layer.ports import IdempotencyKeyRepository, RequestRepository
from services.notify.domain.notification import NotificationStatus
from services.notify.service_layer.ports import NotificationRepository
from services.processing.domain.case import Case, CaseState, Claim
from services.processing.domain.case_opening import open_case
from services.processing.domain.priority import Lane
from services.processing.domain.queues import QueueKey
from services.processing.service_layer.ports import AtRisk, CaseRepository, WorkQueues
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CaseStage
from shared.identity import Role
from tests.builders import (
    T0,
    VALID_NIK,
    case,
    case_opened,
    citizen_request,
    nik,
    notification,
    request_submitted,
    wrapped,
)
from tests.fakes import FlatCalendar


def is_utc(moment: datetime) -> bool:
    return moment.utcoffset() == timedelta(0)


VILLAGE_OPERATOR = Actor(
    kind=ActorKind.OPERATOR,
    id="operator-1",
    role="village_operator",
    village="3515010001",
    channel=Channel.API,
)
COUNTER_OFFICER = Actor(
    kind=ActorKind.STAFF,
    id="officer-1",
    role="counter_officer",
    service_point="SIDOARJO_1",
    channel=Channel.API,
)
SUBMITTED = {
    "by its citizen": citizen_request("req-1"),
    "by a village operator": dataclasses.replace(
        citizen_request("req-1", village="3515010001", owner_phone="+6281111111111"),
        submitted_by=VILLAGE_OPERATOR,
    ),
    "by a counter officer": dataclasses.replace(
        citizen_request("req-1", service_point="SIDOARJO_1"), submitted_by=COUNTER_OFFICER
    ),
}


class RequestRepositoryContract:
    @pytest.mark.parametrize("submitted", SUBMITTED.values(), ids=list(SUBMITTED))
    async def test_add_then_get_round_trips_every_field(
        self, repository: RequestRepository, submitted: CitizenRequest
    ) -> None:
        assert await repository.add(submitted, [wrapped(request_submitted("req-1"))]) is True

        loaded = await repository.get("req-1")
        assert loaded == dataclasses.replace(submitted, events=[])
        assert loaded is not None
        assert is_utc(loaded.submitted_at)

    async def test_progress_is_recorded_once_per_event_with_its_note(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(citizen_request("req-1"), [])
        change = StatusChange(
            status=RequestStatus.NEEDS_REVISION, at=T0 + timedelta(hours=1), note="Foto KK buram"
        )

        first = await repository.record_progress("req-1", "evt-7", change, even_if_current=True)
        again = await repository.record_progress("req-1", "evt-7", change, even_if_current=True)
        unknown = await repository.record_progress("req-2", "evt-8", change, even_if_current=True)

        assert (first, again, unknown) == (True, False, False)
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.status is RequestStatus.NEEDS_REVISION
        assert loaded.history == [change]
        assert is_utc(loaded.history[0].at)

    async def test_a_case_step_older_than_the_last_recorded_one_changes_nothing(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(citizen_request("req-1"), [])
        approved = StatusChange(status=RequestStatus.APPROVED, at=T0 + timedelta(hours=2))
        late = StatusChange(status=RequestStatus.IN_VERIFICATION, at=T0 + timedelta(hours=1))
        same_moment = StatusChange(status=RequestStatus.ISSUED, at=T0 + timedelta(hours=2))

        recorded = await repository.record_progress(
            "req-1", "evt-2", approved, even_if_current=False
        )
        overtaken = await repository.record_progress("req-1", "evt-1", late, even_if_current=False)
        beside = await repository.record_progress(
            "req-1", "evt-3", same_moment, even_if_current=False
        )

        assert (recorded, overtaken, beside) == (True, False, True)
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.status is RequestStatus.ISSUED
        assert loaded.history == [approved, same_moment]

    async def test_progress_at_the_current_status_is_recorded_only_if_asked_to(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(citizen_request("req-1"), [])
        change = StatusChange(status=RequestStatus.SUBMITTED, at=T0 + timedelta(hours=1))

        skipped = await repository.record_progress("req-1", "evt-7", change, even_if_current=False)
        recorded = await repository.record_progress("req-1", "evt-8", change, even_if_current=True)

        assert (skipped, recorded) == (False, True)
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.history == [change]

    async def test_second_add_with_the_same_id_returns_false_and_keeps_the_first(
        self, repository: RequestRepository
    ) -> None:
        first = citizen_request("req-1", service_code="KK_BARU", form_digest="a" * 64)
        second = citizen_request("req-1", service_code="AKTA_LAHIR", form_digest="b" * 64)
        await repository.add(first, [])

        assert await repository.add(second, [wrapped(request_submitted("req-1"))]) is False

        assert await repository.get("req-1") == dataclasses.replace(first, events=[])

    async def test_get_of_a_missing_id_returns_none(self, repository: RequestRepository) -> None:
        await repository.add(citizen_request("req-1"), [])

        assert await repository.get("req-2") is None

    async def test_every_tracking_number_given_is_new_and_well_formed(
        self, repository: RequestRepository
    ) -> None:
        numbers = [await repository.new_tracking_number() for _ in range(250)]

        assert len(set(numbers)) == len(numbers)
        assert all(re.fullmatch(TRACKING_PATTERN, number) for number in numbers)

    async def test_a_request_is_found_by_the_tracking_number_it_was_stored_with(
        self, repository: RequestRepository
    ) -> None:
        request = citizen_request("req-1", tracking_number="K7M2Q9XP")
        await repository.add(request, [])
        await repository.add(citizen_request("req-2", tracking_number="Q2M7KXP9"), [])

        assert await repository.find_by_tracking_number("K7M2Q9XP") == dataclasses.replace(
            request, events=[]
        )
        assert await repository.find_by_tracking_number("P9Q2M7KX") is None

    async def test_a_nik_holds_one_open_application_per_service(
        self, repository: RequestRepository
    ) -> None:
        first = OpenApplication(request_id="req-1", tracking_number="K7M2Q9XP", held_at=T0)
        second = OpenApplication(request_id="req-2", tracking_number="P9Q2M7KX", held_at=T0)

        taken = await repository.hold_open(VALID_NIK, "KTP_CETAK", first, replacing=None)
        again = await repository.hold_open(VALID_NIK, "KTP_CETAK", second, replacing=None)
        other_service = await repository.hold_open(VALID_NIK, "KK_BARU", second, replacing=None)
        other_nik = await repository.hold_open(nik(2), "KTP_CETAK", second, replacing=None)

        assert (taken, again, other_service, other_nik) == (True, False, True, True)
        held = await repository.open_application(VALID_NIK, "KTP_CETAK")
        assert held == first
        assert held is not None
        assert is_utc(held.held_at)
        assert await repository.open_application(nik(3), "KTP_CETAK") is None

    async def test_a_hold_is_taken_over_only_from_the_request_the_taker_saw(
        self, repository: RequestRepository
    ) -> None:
        first = OpenApplication(request_id="req-1", tracking_number="K7M2Q9XP", held_at=T0)
        second = OpenApplication(request_id="req-2", tracking_number="P9Q2M7KX", held_at=T0)
        third = OpenApplication(request_id="req-3", tracking_number="Q2M7KXP9", held_at=T0)
        await repository.hold_open(VALID_NIK, "KTP_CETAK", first, replacing=None)

        taken = await repository.hold_open(VALID_NIK, "KTP_CETAK", second, replacing="req-1")
        late = await repository.hold_open(VALID_NIK, "KTP_CETAK", third, replacing="req-1")

        assert (taken, late) == (True, False)
        assert await repository.open_application(VALID_NIK, "KTP_CETAK") == second

    async def test_of_concurrent_holds_of_one_nik_and_service_exactly_one_wins(
        self, repository: RequestRepository
    ) -> None:
        def racers(prefix: str) -> list[OpenApplication]:
            return [
                OpenApplication(request_id=f"{prefix}-{n}", tracking_number="K7M2Q9XP", held_at=T0)
                for n in range(8)
            ]

        won = await asyncio.gather(
            *(repository.hold_open(VALID_NIK, "KTP_CETAK", r, replacing=None) for r in racers("a"))
        )
        winner = await repository.open_application(VALID_NIK, "KTP_CETAK")
        assert winner is not None
        taken_over = await asyncio.gather(
            *(
                repository.hold_open(VALID_NIK, "KTP_CETAK", r, replacing=winner.request_id)
                for r in racers("b")
            )
        )

        assert sum(won) == 1
        assert sum(taken_over) == 1


class IdempotencyKeyRepositoryContract:
    async def test_an_unknown_key_is_tied_to_the_given_request_id(
        self, repository: IdempotencyKeyRepository
    ) -> None:
        assert await repository.claim(key_hash="a" * 64, request_id="req-1", now=T0) == "req-1"

    async def test_a_known_key_keeps_the_request_id_it_was_tied_to_first(
        self, repository: IdempotencyKeyRepository
    ) -> None:
        await repository.claim(key_hash="a" * 64, request_id="req-1", now=T0)

        again = await repository.claim(key_hash="a" * 64, request_id="req-2", now=T0)

        assert again == "req-1"

    async def test_keys_are_tied_independently(self, repository: IdempotencyKeyRepository) -> None:
        await repository.claim(key_hash="a" * 64, request_id="req-1", now=T0)

        assert await repository.claim(key_hash="b" * 64, request_id="req-2", now=T0) == "req-2"

    async def test_of_concurrent_claims_of_one_key_one_wins_for_all(
        self, repository: IdempotencyKeyRepository
    ) -> None:
        claims = [
            repository.claim(key_hash="c" * 64, request_id=f"req-{n}", now=T0) for n in range(8)
        ]

        assert len(set(await asyncio.gather(*claims))) == 1


class CaseRepositoryContract:
    async def test_add_then_get_round_trips_every_field(self, repository: CaseRepository) -> None:
        opened = case("req-1")

        added = await repository.add(
            opened, processed_event_id="evt-1", outbox=[wrapped(case_opened("req-1"))]
        )

        assert added is True
        loaded = await repository.get("req-1")
        assert loaded == (dataclasses.replace(opened, events=[]), 0)
        assert loaded is not None
        assert is_utc(loaded[0].opened_at)
        assert is_utc(loaded[0].due_at)

    async def test_second_add_of_the_same_case_returns_false_and_keeps_the_first(
        self, repository: CaseRepository
    ) -> None:
        first = case("req-1", service_code="KK_BARU")
        await repository.add(first, processed_event_id="evt-1", outbox=[])

        again = await repository.add(
            case("req-1", service_code="KIA"), processed_event_id="evt-2", outbox=[]
        )

        assert again is False
        assert await repository.get("req-1") == (dataclasses.replace(first, events=[]), 0)

    async def test_an_event_that_opened_a_case_cannot_open_another(
        self, repository: CaseRepository
    ) -> None:
        await repository.add(case("req-1"), processed_event_id="evt-1", outbox=[])

        assert await repository.add(case("req-2"), processed_event_id="evt-1", outbox=[]) is False
        assert await repository.get("req-2") is None

    async def test_get_of_a_missing_id_returns_none(self, repository: CaseRepository) -> None:
        await repository.add(case("req-1"), processed_event_id="evt-1", outbox=[])

        assert await repository.get("req-2") is None

    async def test_the_steps_and_where_the_request_came_from_round_trip(
        self, repository: CaseRepository
    ) -> None:
        opened = open_case(
            request_submitted("req-1"),
            now=T0,
            calendar=FlatCalendar(),
            default_service_point="KANTOR_DINAS",
        )
        await repository.add(opened, processed_event_id="evt-1", outbox=[])
        loaded = await repository.get("req-1")
        assert loaded is not None
        claimed, revision = loaded
        claimed.claim_for(COUNTER_OFFICER, Role.VERIFIER, now=T0 + timedelta(minutes=5))
        claimed.view(COUNTER_OFFICER, now=T0 + timedelta(minutes=6))
        await repository.save(claimed, revision=revision, outbox=[])

        again = await repository.get("req-1")

        assert again is not None
        assert again[0] == dataclasses.replace(claimed, events=[])
        assert [(step.kind, step.state) for step in again[0].steps] == [
            ("CaseClaimed", "IN_VERIFICATION")
        ]
        assert (again[0].submitted_at, again[0].channel) == (T0, "WEB")

    async def test_a_document_is_noted_once_and_only_over_the_one_it_replaces(
        self, repository: CaseRepository
    ) -> None:
        waiting = case("req-1")
        waiting.missing_documents = {"KK", "BUKU_NIKAH"}
        await repository.add(waiting, processed_event_id="evt-1", outbox=[])

        noted = [
            await repository.note_document("req-1", "KK", "doc-1", None),
            await repository.note_document("req-1", "KK", "doc-1", None),
            await repository.note_document("req-1", "KK", "doc-0", "doc-9"),
            await repository.note_document("req-1", "KK", "doc-2", "doc-1"),
            await repository.note_document("req-2", "KK", "doc-1", None),
        ]

        assert noted == [True, False, False, True, None]
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert (loaded[0].documents, loaded[0].missing_documents) == (
            {"KK": "doc-2"},
            {"BUKU_NIKAH"},
        )
        assert loaded[1] == 2

    async def test_save_at_the_read_version_keeps_every_change(
        self, repository: CaseRepository
    ) -> None:
        await repository.add(case("req-1"), processed_event_id="evt-1", outbox=[])
        loaded = await repository.get("req-1")
        assert loaded is not None
        changed, revision = loaded
        changed.state = CaseState.NEEDS_REVISION
        changed.verified = True
        changed.claim = Claim(officer="verifier-1", role=Role.VERIFIER, since=T0)
        changed.paused_remaining = timedelta(hours=3, seconds=7)
        changed.due_at = T0 + timedelta(days=3)

        assert await repository.save(changed, revision=revision, outbox=[]) is True
        assert await repository.get("req-1") == (changed, revision + 1)

    async def test_of_two_saves_from_one_read_only_the_first_is_kept(
        self, repository: CaseRepository
    ) -> None:
        await repository.add(case("req-1"), processed_event_id="evt-1", outbox=[])
        first, revision = await _loaded(repository, "req-1")
        second, _ = await _loaded(repository, "req-1")
        first.state = CaseState.IN_VERIFICATION
        second.state = CaseState.CANCELLED

        assert await repository.save(first, revision=revision, outbox=[]) is True
        assert await repository.save(second, revision=revision, outbox=[]) is False
        assert (await _loaded(repository, "req-1"))[0].state is CaseState.IN_VERIFICATION


async def _loaded(repository: CaseRepository, request_id: str) -> tuple[Case, int]:
    loaded = await repository.get(request_id)
    assert loaded is not None
    return loaded


class WorkQueuesContract:
    KEY = QueueKey("KANTOR_DINAS", CaseStage.VERIFICATION, Lane.NORMAL)

    async def test_slots_wait_in_order_and_the_head_moves_forward_only(
        self, repository: WorkQueues
    ) -> None:
        for number in range(5):
            await repository.enqueue(self.KEY, f"req-{number}", T0 + timedelta(seconds=number))

        first = await repository.waiting(self.KEY, 3)
        await repository.advance(self.KEY, 1)
        await repository.advance(self.KEY, 0)
        rest = await repository.waiting(self.KEY, 10)

        assert [slot.request_id for slot in first] == ["req-0", "req-1", "req-2"]
        assert [slot.number for slot in rest] == [2, 3, 4]
        assert rest[0].at == T0 + timedelta(seconds=2)

    async def test_queues_are_separate_and_an_unknown_one_is_empty(
        self, repository: WorkQueues
    ) -> None:
        other = QueueKey("KANTOR_DINAS", CaseStage.VERIFICATION, Lane.PRIORITY)
        await repository.enqueue(self.KEY, "req-1", T0)

        assert await repository.waiting(other, 10) == []
        assert len(await repository.waiting(self.KEY, 10)) == 1

    async def test_concurrent_enqueues_each_get_their_own_slot(
        self, repository: WorkQueues
    ) -> None:
        await asyncio.gather(
            *(repository.enqueue(self.KEY, f"req-{number}", T0) for number in range(12))
        )

        slots = await repository.waiting(self.KEY, 50)

        assert sorted(slot.number for slot in slots) == list(range(12))
        assert {slot.request_id for slot in slots} == {f"req-{n}" for n in range(12)}


class NotificationRepositoryContract:
    async def test_add_then_due_round_trips_every_field(
        self, repository: NotificationRepository
    ) -> None:
        fresh = notification("n-1", next_attempt_at=T0)
        retried = notification(
            "n-2",
            next_attempt_at=T0 + timedelta(seconds=1),
            attempts=2,
            last_error="provider answered 503",
            provider_message_id="unused",
        )
        assert await repository.add(fresh) is True
        assert await repository.add(retried) is True

        loaded = await repository.due(T0 + timedelta(seconds=1), limit=10)

        assert loaded == [fresh, retried]
        assert all(is_utc(item.next_attempt_at) for item in loaded)
        assert all(item.events == [] for item in loaded)

    async def test_second_add_with_the_same_id_returns_false_and_keeps_the_first(
        self, repository: NotificationRepository
    ) -> None:
        first = notification("n-1", attempts=0)
        await repository.add(first)

        assert await repository.add(notification("n-1", attempts=5)) is False

        assert await repository.due(T0, limit=10) == [first]

    async def test_get_loads_one_notification_whatever_its_status(
        self, repository: NotificationRepository
    ) -> None:
        pending = notification("n-1", next_attempt_at=T0 + timedelta(hours=1))
        await repository.add(pending)

        assert await repository.get("n-1") == pending
        assert await repository.get("n-2") is None

    async def test_about_lists_one_requests_notifications_as_stored_oldest_first(
        self, repository: NotificationRepository
    ) -> None:
        for name, minutes in [("n-3", 60), ("n-2", 0), ("n-1", 0)]:
            await repository.add(notification(name, created_at=T0 + timedelta(minutes=minutes)))
        await repository.add(dataclasses.replace(notification("n-9"), about="req-2"))
        sent = await repository.get("n-3")
        assert sent is not None
        sent.mark_sent(provider_message_id="wa-1", now=T0)
        await repository.save(sent, [])

        listed = await repository.about("req-1")

        assert [item.notification_id for item in listed] == ["n-1", "n-2", "n-3"]
        assert listed[2] == await repository.get("n-3")
        assert listed[2].status is NotificationStatus.SENT
        assert all(is_utc(item.created_at) and item.events == [] for item in listed)
        assert [item.notification_id for item in await repository.about("req-2")] == ["n-9"]
        assert await repository.about("req-404") == []

    async def test_due_returns_only_pending_notifications_whose_time_has_come(
        self, repository: NotificationRepository
    ) -> None:
        now = T0 + timedelta(minutes=5)
        await repository.add(notification("past", next_attempt_at=now - timedelta(seconds=1)))
        await repository.add(notification("exactly-now", next_attempt_at=now))
        await repository.add(notification("future", next_attempt_at=now + timedelta(seconds=1)))
        await repository.add(notification("sent", status=NotificationStatus.SENT))
        await repository.add(notification("failed", status=NotificationStatus.FAILED))

        due = await repository.due(now, limit=10)

        assert [item.notification_id for item in due] == ["past", "exactly-now"]

    async def test_due_returns_the_oldest_first_up_to_the_limit(
        self, repository: NotificationRepository
    ) -> None:
        for name, seconds in [("middle", 20), ("newest", 30), ("oldest", 10)]:
            await repository.add(
                notification(name, next_attempt_at=T0 + timedelta(seconds=seconds))
            )
        now = T0 + timedelta(minutes=1)

        assert [n.notification_id for n in await repository.due(now, limit=10)] == [
            "oldest",
            "middle",
            "newest",
        ]
        assert [n.notification_id for n in await repository.due(now, limit=2)] == [
            "oldest",
            "middle",
        ]

    async def test_save_persists_a_rescheduled_attempt(
        self, repository: NotificationRepository
    ) -> None:
        await repository.add(notification("n-1", next_attempt_at=T0))
        [pending] = await repository.due(T0, limit=10)
        pending.mark_attempt_failed(reason="timeout", retryable=True, max_attempts=5, now=T0)

        await repository.save(pending, [])

        assert await repository.due(T0, limit=10) == []
        [rescheduled] = await repository.due(pending.next_attempt_at, limit=10)
        assert rescheduled.attempts == 1
        assert rescheduled.last_error == "timeout"
        assert rescheduled.next_attempt_at == T0 + timedelta(seconds=2)
        assert rescheduled.status is NotificationStatus.PENDING

    @pytest.mark.parametrize("outcome", ["sent", "failed"])
    async def test_save_of_a_final_outcome_takes_the_notification_off_the_queue(
        self, repository: NotificationRepository, outcome: str
    ) -> None:
        await repository.add(notification("n-1"))
        [pending] = await repository.due(T0, limit=10)
        if outcome == "sent":
            pending.mark_sent(provider_message_id="wa-1", now=T0)
        else:
            pending.mark_attempt_failed(
                reason="bad number", retryable=False, max_attempts=5, now=T0
            )

        await repository.save(pending, [])

        assert await repository.due(T0 + timedelta(days=365), limit=10) == []

    async def test_save_never_inserts_an_unknown_notification(
        self, repository: NotificationRepository
    ) -> None:
        await repository.save(notification("never-added"), [])

        assert await repository.due(T0, limit=10) == []


class AtRiskContract:
    async def test_cases_are_noted_updated_listed_and_forgotten(self, repository: AtRisk) -> None:
        first, second = "3f0c9a34-7d2e-4b8a-9c1d-2e5f6a7b8c9d", "req-2"
        await repository.note("KANTOR_DINAS", first, T0, 50)
        await repository.note("KANTOR_DINAS", first, T0, 80)
        await repository.note("KANTOR_DINAS", second, T0 + timedelta(hours=1), 50)
        await repository.note("MPP_KOTA", "req-3", T0, 100)

        listed = await repository.listed("KANTOR_DINAS")
        await repository.forget("KANTOR_DINAS", [first])
        after = await repository.listed("KANTOR_DINAS")

        assert listed == {first: (T0, 80), second: (T0 + timedelta(hours=1), 50)}
        assert after == {second: (T0 + timedelta(hours=1), 50)}
        assert await repository.listed("MPP_KOTA") == {"req-3": (T0, 100)}
        assert await repository.listed("ELSEWHERE") == {}
