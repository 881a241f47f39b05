from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from pymongo.errors import AutoReconnect

from services.audit.domain.entry import LogEntry
from services.audit.domain.pseudonym import PREFIX
from services.audit.service_layer.log import AuditRecorder, list_entries
from shared.events.envelope import Event
from shared.events.models.cases import CaseOpened
from shared.events.models.requests import RequestSubmitted
from shared.messagebus import Received
from tests.builders import (
    CITIZEN,
    T0,
    VALID_NIK,
    case_opened,
    request_submitted,
    wrapped,
)
from tests.contracts.audit import log_entries
from tests.fakes import FakeClock
from tests.fakes_audit import FakeLogEntries

KEY = b"audit-key"
RECORDED_AT = T0 + timedelta(seconds=5)


def received(
    event: Event, *, source: str = "/test", event_id: str | None = None
) -> Received[Event]:
    envelope = wrapped(event, source=source)
    return Received(
        data=event,
        event_id=event_id or envelope.id,
        source=source,
        time=envelope.time,
        now=RECORDED_AT,
    )


def recorder(log: FakeLogEntries) -> AuditRecorder:
    return AuditRecorder(log=log, pseudonym_key=KEY, clock=FakeClock(RECORDED_AT))


async def all_entries(log: FakeLogEntries) -> list[LogEntry]:
    return [entry async for entry in log.entries()]


async def test_an_event_is_appended_with_its_envelope_and_masked_data() -> None:
    log = FakeLogEntries()
    message = received(request_submitted("req-1"), source="/adminduk/intake")

    await recorder(log).record(message)

    [entry] = await all_entries(log)
    assert entry.index == 0
    assert entry.sequence == 1
    assert entry.event_id == message.event_id
    assert entry.event_type == RequestSubmitted.event_type
    assert entry.source == "/adminduk/intake"
    assert entry.subject == "req-1"
    assert entry.event_time == T0.isoformat()
    assert entry.recorded_at == RECORDED_AT.isoformat()
    assert entry.data["request_id"] == "req-1"
    assert entry.data["actor"] == CITIZEN.model_dump(mode="json")
    assert entry.data["applicant"]["nik"].startswith(PREFIX)
    assert VALID_NIK not in repr(entry)


async def test_events_take_the_next_indexes_in_the_order_they_are_recorded() -> None:
    log = FakeLogEntries()
    audit = recorder(log)

    await audit.record(received(request_submitted("req-1")))
    await audit.record(received(case_opened("req-1")))

    first, second = await all_entries(log)
    assert (first.index, second.index) == (0, 1)
    assert second.event_type == CaseOpened.event_type
    assert second.data["contact_phone"].startswith(PREFIX)


async def test_a_redelivered_event_adds_nothing() -> None:
    log = FakeLogEntries()
    audit = recorder(log)
    message = received(request_submitted("req-1"))

    await audit.record(message)
    await audit.record(message)

    assert [entry.event_id for entry in await all_entries(log)] == [message.event_id]


class CountingAuditLog(FakeLogEntries):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    async def append(self, entries: Sequence[LogEntry]) -> int:
        self.writes.append(len(entries))
        await asyncio.sleep(0.01)
        return await super().append(entries)


async def test_events_recorded_at_once_share_writes_and_keep_their_arrival_order() -> None:
    log = CountingAuditLog()
    audit = recorder(log)
    messages = [received(request_submitted(f"req-{n}")) for n in range(20)]

    await asyncio.gather(*(audit.record(message) for message in messages))

    assert [entry.event_id for entry in await all_entries(log)] == [
        message.event_id for message in messages
    ]
    assert sum(log.writes) == 20
    assert len(log.writes) <= 2
    assert [entry.index for entry in await all_entries(log)] == list(range(20))


async def test_a_redelivery_inside_a_batch_is_dropped_and_the_rest_take_the_next_indexes() -> None:
    log = FakeLogEntries()
    audit = recorder(log)
    first = received(request_submitted("req-1"))
    await audit.record(first)
    batch = [received(case_opened("req-1")), first, received(request_submitted("req-2"))]

    await asyncio.gather(*(audit.record(message) for message in batch))

    assert [entry.event_id for entry in await all_entries(log)] == [
        first.event_id,
        batch[0].event_id,
        batch[2].event_id,
    ]
    assert [entry.index for entry in await all_entries(log)] == [0, 1, 2]


class RacedAuditLog(FakeLogEntries):
    """Another appender takes the next index between our read of the size and our append."""

    def __init__(self, rival_event_id: str) -> None:
        super().__init__()
        self._rival_event_id = rival_event_id
        self._raced = False

    async def append(self, entries: Sequence[LogEntry]) -> int:
        if not self._raced:
            self._raced = True
            rival = LogEntry(
                index=await self.size(),
                event_id=self._rival_event_id,
                event_type=RequestSubmitted.event_type,
                source="/adminduk/intake",
                subject="req-rival",
                event_time=T0.isoformat(),
                recorded_at=T0.isoformat(),
                data={},
            )
            await super().append([rival])
        return await super().append(entries)


async def test_losing_the_index_to_another_writer_appends_after_its_entry() -> None:
    log = RacedAuditLog(rival_event_id="evt-rival")
    message = received(request_submitted("req-1"))

    await recorder(log).record(message)

    assert [entry.event_id for entry in await all_entries(log)] == [
        "evt-rival",
        message.event_id,
    ]
    assert [entry.index for entry in await all_entries(log)] == [0, 1]


async def test_losing_the_index_to_the_same_event_is_done() -> None:
    message = received(request_submitted("req-1"))
    log = RacedAuditLog(rival_event_id=message.event_id)

    await recorder(log).record(message)

    assert [entry.event_id for entry in await all_entries(log)] == [message.event_id]


class UnreachableAuditLog(FakeLogEntries):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def append(self, entries: Sequence[LogEntry]) -> int:
        if self.down:
            raise AutoReconnect("database unreachable")
        return await super().append(entries)


async def test_a_failed_write_fails_every_event_in_it_and_the_next_record_works() -> None:
    log = UnreachableAuditLog()
    audit = recorder(log)
    messages = [received(request_submitted(f"req-{n}")) for n in range(3)]

    results = await asyncio.gather(
        *(audit.record(message) for message in messages), return_exceptions=True
    )

    assert all(isinstance(result, AutoReconnect) for result in results)
    assert await all_entries(log) == []
    log.down = False
    await audit.record(messages[0])
    assert [entry.event_id for entry in await all_entries(log)] == [messages[0].event_id]


async def test_list_entries_pages_through_the_log() -> None:
    log = FakeLogEntries()
    await log.append(log_entries("req-1", "req-2", "req-1", "req-1"))

    page = await list_entries(log=log, after_sequence=1, subject="req-1", limit=1)
    rest = await list_entries(log=log, after_sequence=page[-1].sequence, subject="req-1", limit=10)

    assert [entry.sequence for entry in page] == [3]
    assert [entry.sequence for entry in rest] == [4]


async def test_what_was_appended_is_handed_over_and_only_that() -> None:
    handed: list[int] = []
    log = FakeLogEntries()
    audit = AuditRecorder(
        log=log,
        pseudonym_key=KEY,
        clock=FakeClock(RECORDED_AT),
        appended=lambda entries: handed.extend(entry.index for entry in entries),
    )
    first = received(request_submitted("req-1"))

    await audit.record(first)
    await asyncio.gather(*(audit.record(m) for m in [first, received(case_opened("req-1"))]))

    assert handed == [0, 1]
