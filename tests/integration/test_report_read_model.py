"""The monthly report's read model on the real engine: exact under redelivery, concurrent
writers, a crash after a write or in the middle of a fold, and a second instance counting and
folding the same events."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_report import DIGEST, MongoReportStore
from services.processing.domain import report_counting
from services.processing.domain.report import MonthlyReport, Row
from services.processing.service_layer.known_cases import KnownCases
from services.processing.service_layer.ports import Counted
from services.processing.service_layer.report import monthly_report, record_for_report
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.cases import CaseCompleted, RevisionRequested
from shared.events.models.requests import RequestSubmitted
from shared.identity import Role
from shared.mongo import Document, new_mongo_client
from tests.builders import applicant, case, cipher
from tests.unit.processing.test_processing_report import CaseSteps

CALENDAR = WorkingCalendar()
MONDAY = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
OFFICER = Actor(kind=ActorKind.STAFF, id="petugas.1", role="verifier", channel=Channel.API)
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.SMS)


def store_in(db: AsyncDatabase[Document]) -> MongoReportStore:
    return MongoReportStore(db["report_counters"], db["report_deltas"])


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


STEPS = CaseSteps()


@pytest.fixture(autouse=True)
def fresh_cases() -> None:
    """Each test's requests are its own, though their ids repeat."""
    STEPS.trails.clear()


async def record(store: MongoReportStore, event_id: str, event: Event) -> None:
    STEPS.took(event)
    await record_for_report(
        event=event, event_id=event_id, trails=STEPS, store=store, calendar=CALENDAR
    )


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
    """Dies right after its first write, before it could tell anyone the write was done."""

    crashed = False

    async def _write(self, batch: list[Counted]) -> list[None]:
        written = await super()._write(batch)
        if not self.crashed:
            self.crashed = True
            raise ConnectionError("the process died")
        return written


async def test_a_crash_after_a_write_neither_loses_nor_repeats_a_count(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = CrashingOnce(mongo_db["report_counters"], mongo_db["report_deltas"])
    with pytest.raises(ConnectionError):
        await record(store, "s1", submitted("r1"))

    restarted = store_in(mongo_db)
    await record(restarted, "s1", submitted("r1"))
    await record(restarted, "d1", completed("r1"))
    before_folding = await total(restarted)
    await restarted.compact()

    row = await total(restarted)
    assert (before_folding.received, before_folding.completed) == (1, 1)
    assert (row.received, row.completed) == (1, 1)
    [month] = [doc async for doc in mongo_db["report_counters"].find({})]
    assert month["_id"] == "2026-11"
    assert len(month["fence"]) == 2 * DIGEST
    assert await mongo_db["report_deltas"].count_documents({}) == 0


class DyingWhileFolding(MongoReportStore):
    """Dies after folding the deltas into the counters, before removing them."""

    async def _remove(self, deltas: list[Document]) -> None:
        raise ConnectionError("the process died")


async def test_deltas_folded_again_after_a_crash_add_nothing_more(
    mongo_db: AsyncDatabase[Document],
) -> None:
    dying = DyingWhileFolding(mongo_db["report_counters"], mongo_db["report_deltas"])
    for rid in ("r1", "r2"):
        await record(dying, f"s-{rid}", submitted(rid))
    with pytest.raises(ConnectionError):
        await dying.compact()

    restarted = store_in(mongo_db)
    read_between = await total(restarted)
    await restarted.compact()

    assert read_between.received == 2
    assert (await total(restarted)).received == 2


async def test_two_instances_counting_the_same_events_count_each_once(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> None:
    other_client = new_mongo_client(stack.mongo_url)
    try:
        first, second = store_in(mongo_db), store_in(other_client[mongo_db.name])
        ids = [f"r{n}" for n in range(20)]
        await asyncio.gather(
            *(record(store, f"s-{rid}", submitted(rid)) for rid in ids for store in (first, second))
        )
        await asyncio.gather(
            *(record(store, f"d-{rid}", completed(rid)) for rid in ids for store in (second, first))
        )
        await asyncio.gather(first.compact(), second.compact())
    finally:
        await other_client.close()

    row = await total(store_in(mongo_db))
    assert (row.received, row.completed, row.backlog) == (20, 20, 0)


async def test_counters_of_the_earlier_layout_are_still_read(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = store_in(mongo_db)
    await mongo_db["report_counters"].insert_one(
        {
            "_id": "2026-11|service|AKTA_LAHIR|3",
            "month": "2026-11",
            "dimension": "service",
            "key": "AKTA_LAHIR",
            "shard": 3,
            "version": 2,
            "received": 2,
            "backlog": {"opened": {"2026-11-02": 2}},
            "fence": ["old-1", "old-2"],
        }
    )
    await record(store, "s1", submitted("r1"))

    row = await total(store)
    assert (row.received, row.backlog) == (3, 3)


async def test_a_case_opened_before_cases_kept_their_steps_counts_from_where_it_was_left(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = MongoReportStore(
        mongo_db["report_counters"], mongo_db["report_deltas"], earlier=mongo_db["report_cases"]
    )
    known = KnownCases(
        MongoCaseRepository(mongo_db["cases"], cipher()), earlier=store.progress_kept
    )
    await known.add(case("r1"), processed_event_id="s1", outbox=[])
    start, _ = report_counting.submitted(submitted("r1"))
    await mongo_db["report_cases"].insert_one(
        {"_id": "r1", **dataclasses.asdict(start), "processed_events": ["s1"], "version": 1}
    )
    loaded = await known.get("r1")
    assert loaded is not None
    taken, revision = loaded
    taken.claim_for(OFFICER, Role.VERIFIER, now=MONDAY + timedelta(hours=2))
    await known.save(taken, revision=revision, outbox=[])

    [claimed] = taken.events
    await record_for_report(
        event=claimed, event_id="c1", trails=known, store=store, calendar=CALENDAR
    )

    assert (await total(store)).state_mean_s == {"SUBMITTED": 2 * 3600.0}
