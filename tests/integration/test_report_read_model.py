"""The monthly report's read model on the real engine: exact under redelivery, concurrent
writers and a crash between its writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.processing.adapters.mongo_report import MongoReportStore
from services.processing.domain.report import MonthlyReport, Row
from services.processing.service_layer.report import Pending, monthly_report, record_for_report
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models import CaseCompleted, RequestSubmitted, RevisionRequested
from shared.mongo import Document
from tests.builders import applicant

CALENDAR = WorkingCalendar()
MONDAY = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
OFFICER = Actor(kind=ActorKind.STAFF, id="petugas.1", role="verifier", channel=Channel.API)
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.SMS)


def store_in(db: AsyncDatabase[Document]) -> MongoReportStore:
    return MongoReportStore(db["report_cases"], db["report_counters"])


def submitted(request_id: str) -> RequestSubmitted:
    return RequestSubmitted(
        actor=CITIZEN,
        request_id=request_id,
        service_code="AKTA_LAHIR",
        tracking_number="K7M2Q9XP",
        applicant=applicant(),
        submitted_at=MONDAY,
        deadline_working_days=1,
        expected_at=MONDAY + timedelta(days=1),
    )


def completed(request_id: str) -> CaseCompleted:
    return CaseCompleted(
        actor=OFFICER,
        request_id=request_id,
        state="COMPLETED",
        at=MONDAY + timedelta(hours=4),
        on_time=True,
    )


async def record(store: MongoReportStore, event_id: str, event: Event) -> None:
    await record_for_report(event=event, event_id=event_id, store=store, calendar=CALENDAR)


async def total(store: MongoReportStore) -> Row:
    result: MonthlyReport = await monthly_report(
        month="2026-11", store=store, calendar=CALENDAR, now=MONDAY + timedelta(days=3)
    )
    return next(row for row in result.rows if row.dimension == "total")


async def test_events_delivered_again_and_at_once_are_counted_once(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = store_in(mongo_db)
    sent_back = RevisionRequested(
        actor=OFFICER,
        request_id="r1",
        state="NEEDS_REVISION",
        at=MONDAY + timedelta(hours=1),
        items=["Surat keterangan lahir"],
    )
    events: list[tuple[str, Event]] = [("s1", submitted("r1")), ("v1", sent_back)]

    for event_id, event in events:
        await asyncio.gather(*(record(store, event_id, event) for _ in range(4)))
    for event_id, event in events:
        await record(store, event_id, event)

    row = await total(store)
    assert (row.received, row.sent_back, row.backlog) == (1, 1, 1)
    assert row.state_mean_s == {"SUBMITTED": 3600.0}


async def test_concurrent_cases_add_up_exactly(mongo_db: AsyncDatabase[Document]) -> None:
    store = store_in(mongo_db)
    ids = [f"r{n}" for n in range(40)]

    await asyncio.gather(*(record(store, f"s-{rid}", submitted(rid)) for rid in ids))
    await asyncio.gather(*(record(store, f"d-{rid}", completed(rid)) for rid in ids[:30]))

    row = await total(store)
    assert (row.received, row.completed, row.backlog) == (40, 30, 10)
    assert row.on_time_rate == 1.0
    assert row.median_working_s is not None


class CrashingOnce(MongoReportStore):
    """Dies after adding an event to the counters, before forgetting it."""

    crashed = False

    async def _forget(self, request_id: str, counters: list[str], pending: Pending) -> None:
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("the process died")
        await super()._forget(request_id, counters, pending)


async def test_a_crash_between_the_writes_neither_loses_nor_repeats_a_count(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = CrashingOnce(mongo_db["report_cases"], mongo_db["report_counters"])
    with pytest.raises(ConnectionError):
        await record(store, "s1", submitted("r1"))

    restarted = store_in(mongo_db)
    await record(restarted, "s1", submitted("r1"))
    await record(restarted, "d1", completed("r1"))

    row = await total(restarted)
    assert (row.received, row.completed) == (1, 1)
    progress = await mongo_db["report_cases"].find_one({"_id": "r1"})
    assert progress is not None
    assert progress["pending"] == {}
    fences = [doc["fence"] async for doc in mongo_db["report_counters"].find({})]
    # Service, channel and district saw both events; the officer only the completion.
    assert sorted(fences) == [["d1"], ["s1", "d1"], ["s1", "d1"], ["s1", "d1"]]
