from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.audit.domain.chain import GENESIS_HASH, AuditEntry, next_entry
from services.audit.domain.pseudonym import PREFIX
from services.audit.service_layer.log import list_entries, record_event, verify_log
from shared.errors import PoisonEvent, RetryableError
from shared.events.envelope import CloudEvent
from shared.events.models import CaseOpened, RequestSubmitted
from tests.builders import T0, VALID_NIK, audit_chain, case_opened, request_submitted, wrapped
from tests.fakes import FakeAuditLog

KEY = b"audit-key"
RECORDED_AT = T0 + timedelta(seconds=5)


async def record(log: FakeAuditLog, event: CloudEvent) -> None:
    await record_event(event=event, log=log, pseudonym_key=KEY, now=RECORDED_AT)


async def all_entries(log: FakeAuditLog) -> list[AuditEntry]:
    return [entry async for entry in log.entries()]


async def test_an_event_is_appended_with_its_envelope_and_masked_data() -> None:
    log = FakeAuditLog()
    event = wrapped(request_submitted("req-1"), source="/adminduk/intake")

    await record(log, event)

    [entry] = await all_entries(log)
    assert entry.sequence == 1
    assert entry.previous_hash == GENESIS_HASH
    assert entry.event_id == event.id
    assert entry.event_type == RequestSubmitted.event_type
    assert entry.source == "/adminduk/intake"
    assert entry.subject == "req-1"
    assert entry.event_time == T0.isoformat()
    assert entry.recorded_at == RECORDED_AT.isoformat()
    assert entry.data["request_id"] == "req-1"
    assert entry.data["applicant"]["nik"].startswith(PREFIX)
    assert VALID_NIK not in repr(entry)


async def test_events_are_chained_in_the_order_they_are_recorded() -> None:
    log = FakeAuditLog()

    await record(log, wrapped(request_submitted("req-1")))
    await record(log, wrapped(case_opened("req-1")))

    first, second = await all_entries(log)
    assert second.sequence == 2
    assert second.previous_hash == first.entry_hash
    assert second.event_type == CaseOpened.event_type
    assert second.data["contact_phone"].startswith(PREFIX)


async def test_a_redelivered_event_adds_nothing() -> None:
    log = FakeAuditLog()
    event = wrapped(request_submitted("req-1"))

    await record(log, event)
    await record(log, event)

    assert [entry.event_id for entry in await all_entries(log)] == [event.id]


async def test_an_unknown_event_type_is_poison_and_is_not_logged() -> None:
    log = FakeAuditLog()
    event = wrapped(request_submitted("req-1")).model_copy(
        update={"type": "id.go.adminduk.request.withdrawn.v1"}
    )

    with pytest.raises(PoisonEvent, match=r"request\.withdrawn"):
        await record(log, event)

    assert await all_entries(log) == []


async def test_data_the_model_does_not_know_is_refused_not_logged_in_clear() -> None:
    log = FakeAuditLog()
    event = wrapped(request_submitted("req-1"))
    leaky = event.model_copy(update={"data": {**event.data, "ktp_nik": VALID_NIK}})

    with pytest.raises(ValidationError):
        await record(log, leaky)

    assert await all_entries(log) == []


class RacedAuditLog(FakeAuditLog):
    """Another appender takes the next sequence between our read of the head and our append."""

    def __init__(self, rival_event_id: str) -> None:
        super().__init__()
        self._rival_event_id = rival_event_id

    async def append(self, entry: AuditEntry) -> None:
        if entry.sequence not in self.by_sequence:
            rival = next_entry(
                await self.head(),
                event_id=self._rival_event_id,
                event_type=RequestSubmitted.event_type,
                source="/adminduk/intake",
                subject="req-rival",
                event_time=T0.isoformat(),
                recorded_at=T0.isoformat(),
                data={},
            )
            await super().append(rival)
        await super().append(entry)


async def test_losing_the_sequence_to_another_event_is_retryable() -> None:
    log = RacedAuditLog(rival_event_id="evt-rival")
    event = wrapped(request_submitted("req-1"))

    with pytest.raises(RetryableError):
        await record(log, event)

    assert [entry.event_id for entry in await all_entries(log)] == ["evt-rival"]


async def test_losing_the_sequence_to_the_same_event_is_done() -> None:
    event = wrapped(request_submitted("req-1"))
    log = RacedAuditLog(rival_event_id=event.id)

    await record(log, event)

    assert [entry.event_id for entry in await all_entries(log)] == [event.id]


async def test_list_entries_pages_through_the_log() -> None:
    log = FakeAuditLog()
    for entry in audit_chain("req-1", "req-2", "req-1", "req-1"):
        await log.append(entry)

    page = await list_entries(log=log, after_sequence=1, subject="req-1", limit=1)
    rest = await list_entries(log=log, after_sequence=page[-1].sequence, subject="req-1", limit=10)

    assert [entry.sequence for entry in page] == [3]
    assert [entry.sequence for entry in rest] == [4]


async def test_a_recorded_log_verifies() -> None:
    log = FakeAuditLog()
    for event in [wrapped(request_submitted("req-1")), wrapped(case_opened("req-1"))]:
        await record(log, event)

    result = await verify_log(log=log)

    head = await log.head()
    assert head is not None
    assert result.valid is True
    assert result.entries == 2
    assert result.head_hash == head.entry_hash


async def test_a_tampered_log_fails_verification_at_the_changed_entry() -> None:
    log = FakeAuditLog()
    for entry in audit_chain("a", "b", "c"):
        await log.append(entry)
    log.by_sequence[2] = dataclasses.replace(log.by_sequence[2], data={"n": "changed"})

    result = await verify_log(log=log)

    assert result.valid is False
    assert result.first_invalid_sequence == 2
    assert result.entries == 1
