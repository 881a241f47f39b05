"""The monthly report over a generated month of one million requests.

Generates a month of requests (services, channels, districts, officers, send-backs, rejections,
cancellations, cases still open) and their case events, turns each event into the read model's
increments with the same domain code the consumer uses, adds them to each month's counter
document in one `$inc`, and times the report read. It also times the per-event path
(`record_for_report`, as the consumer calls it) on a sample, one event at a time and with the
consumer's concurrency, for its rate and its engine operations per event.

    .venv/bin/python -m benchmarks.monthly_report [--requests 1000000] [--mongo-url URL]

Without `--mongo-url` it starts its own FerretDB on PostgreSQL (devstack) and stops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Ports, Stack
from services.processing.adapters.batching import Batching
from services.processing.adapters.mongo_report import MongoReportStore
from services.processing.domain import report, report_counting
from services.processing.domain.case import Step
from services.processing.domain.report_counting import Trail
from services.processing.service_layer.report import monthly_report, record_for_report
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseClaimed,
    CaseCompleted,
    CaseEvent,
    CaseRejected,
    CaseResubmitted,
    CaseStage,
    CaseVerified,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.metrics import DB_OPERATIONS
from shared.mongo import Document, new_mongo_client, versioned

MONTH = "2026-11"
START = datetime(2026, 10, 31, 17, 0, tzinfo=UTC)  # 1 November 00:00 WIB
SERVICES = ["KK_BARU", "KK_UBAH", "KTP_CETAK", "KIA", "AKTA_LAHIR", "AKTA_MATI", "PINDAH_KELUAR"]
SUBMITTERS = [
    Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.API),
    Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.WHATSAPP),
    Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.SMS),
    Actor(kind=ActorKind.OPERATOR, id="op", village="3516092001", channel=Channel.API),
    Actor(kind=ActorKind.STAFF, id="loket", service_point="KANTOR_DINAS", channel=Channel.API),
]
OFFICERS = [
    Actor(
        kind=ActorKind.STAFF,
        id=f"petugas-{n:02d}",
        service_point="KANTOR_DINAS",
        channel=Channel.API,
    )
    for n in range(40)
]
REPEATS = 5
SAMPLE = 500
CONCURRENCY = 32
"""Requests whose events the consumer handles at once."""


def applicant(rng: random.Random) -> Applicant:
    nik = f"3516{rng.randint(1, 18):02d}1204800001"
    return Applicant(
        nik=nik, name="Warga", phone="+6281234567890", preferred_channel=NotificationChannel.SMS
    )


def case_events(rng: random.Random, request_id: str) -> Iterator[RequestSubmitted | CaseEvent]:
    """One request's events: most completed, some sent back, rejected, cancelled or still open."""
    at = START + timedelta(seconds=rng.uniform(0, 29 * 86400))
    yield RequestSubmitted(
        actor=rng.choice(SUBMITTERS),
        request_id=request_id,
        service_code=rng.choice(SERVICES),
        tracking_number=request_id[-8:].upper(),
        applicant=applicant(rng),
        submitted_at=at,
        deadline_working_days=1,
        expected_at=at + timedelta(days=1),
    )
    common = {"request_id": request_id}
    fate = rng.random()
    if fate < 0.02:
        yield CaseCancelled(
            actor=SUBMITTERS[0], state="CANCELLED", at=at + timedelta(hours=1), **common
        )
        return
    if fate < 0.07:
        return  # still waiting
    officer = rng.choice(OFFICERS)
    at += timedelta(hours=rng.expovariate(1 / 3))
    yield CaseClaimed(
        actor=officer,
        state="IN_VERIFICATION",
        at=at,
        stage=CaseStage.VERIFICATION,
        out_of_order=False,
        reason_code=None,
        **common,
    )
    if rng.random() < 0.1:
        at += timedelta(hours=1)
        yield RevisionRequested(
            actor=officer, state="NEEDS_REVISION", at=at, items=["Foto"], **common
        )
        at += timedelta(hours=rng.expovariate(1 / 20))
        yield CaseResubmitted(
            actor=SUBMITTERS[0], state="IN_VERIFICATION", at=at, due_at=at, **common
        )
    if rng.random() < 0.04:
        yield CaseRejected(
            actor=officer,
            state="REJECTED",
            at=at + timedelta(hours=1),
            reason="Tidak sah",
            **common,
        )
        return
    for step in (CaseVerified, CaseApproved, DocumentIssued, CaseCompleted):
        at += timedelta(hours=rng.expovariate(1 / 2))
        actor = rng.choice(OFFICERS)
        if step is CaseVerified:
            yield CaseVerified(actor=actor, state="IN_VERIFICATION", at=at, **common)
        elif step is CaseApproved:
            yield CaseApproved(actor=actor, state="APPROVED", at=at, **common)
        elif step is DocumentIssued:
            yield DocumentIssued(
                actor=actor,
                state="ISSUED",
                at=at,
                document_number="1",
                collection="OFFICE",
                **common,
            )
        else:
            yield CaseCompleted(
                actor=actor, state="COMPLETED", at=at, on_time=rng.random() < 0.85, **common
            )


def generate(requests: int, calendar: WorkingCalendar) -> tuple[dict[str, dict[str, int]], int]:
    """The counter documents' increments for the month, summed per document, and the events."""
    rng = random.Random(20261101)
    documents: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    events = 0
    for n in range(requests):
        request_id = f"{n:08d}-{uuid.UUID(int=rng.getrandbits(128))}"
        progress = None
        for event in case_events(rng, request_id):
            events += 1
            if isinstance(event, RequestSubmitted):
                progress, change = report_counting.submitted(event)
            else:
                assert progress is not None
                progress, maybe = report_counting.stepped(progress, event, calendar)
                if maybe is None:
                    continue
                change = maybe
            target = documents[change.month]
            for name, amount in change.increments.items():
                target[name] += amount
    return documents, events


async def run(requests: int, mongo_url: str) -> None:
    calendar = WorkingCalendar()
    client = new_mongo_client(mongo_url)
    db = client[f"bench_report_{uuid.uuid4().hex[:8]}"]
    store = MongoReportStore(db["report_counters"], db["report_deltas"])
    try:
        began = time.perf_counter()
        documents, events = generate(requests, calendar)
        generated = time.perf_counter() - began
        began = time.perf_counter()
        await db["report_counters"].bulk_write(
            [
                UpdateOne(
                    {"_id": month},
                    versioned(
                        {"$inc": dict(increments), "$setOnInsert": {"month": month, "fence": ""}}
                    ),
                    upsert=True,
                )
                for month, increments in documents.items()
            ],
            ordered=False,
        )
        written = time.perf_counter() - began
        timings = []
        for _ in range(REPEATS):
            began = time.perf_counter()
            result = await monthly_report(
                month=MONTH, store=store, calendar=calendar, now=datetime.now(UTC)
            )
            timings.append(time.perf_counter() - began)
        [total] = result.rows_of(report.TOTAL)
        one_at_a_time = await per_event(db, calendar, concurrency=1)
        concurrently = await per_event(db, calendar, concurrency=CONCURRENCY)
        print(f"requests generated:          {requests:,} ({events:,} events) in {generated:.1f} s")
        print(f"counter documents written:   {len(documents)} in {written:.2f} s (one $inc each)")
        print(
            f"report read, {REPEATS} runs:         median {statistics.median(timings):.3f} s, "
            f"max {max(timings):.3f} s ({len(result.rows)} rows)"
        )
        print(
            f"month: received {total.received:,}, completed {total.completed:,}, "
            f"on time {total.on_time_rate or 0:.1%}, "
            f"median {(total.median_working_s or 0) / 3600:.1f} h, "
            f"p90 {(total.p90_working_s or 0) / 3600:.1f} h, backlog {total.backlog:,}"
        )
        for label, (rate, per, fold_s) in (
            ("one at a time", one_at_a_time),
            (f"{CONCURRENCY} requests at once", concurrently),
        ):
            print(
                f"per-event path (record_for_report, {label}): {rate:.0f} events/s, "
                f"{per:.2f} engine operations an event; their fold {fold_s:.2f} s"
            )
    finally:
        await client.drop_database(db.name)
        await client.close()


class Steps:
    """The sample's cases' steps, as their cases keep them (`Case.steps`)."""

    def __init__(self) -> None:
        self.trails: dict[str, Trail] = {}

    def took(self, event: RequestSubmitted | CaseEvent) -> None:
        if isinstance(event, RequestSubmitted):
            start, _ = report_counting.submitted(event)
            self.trails[event.request_id] = Trail(start=start, steps=())
            return
        trail = self.trails[event.request_id]
        step = Step(kind=type(event).__name__, state=event.state, at=event.at)
        self.trails[event.request_id] = Trail(trail.start, (*trail.steps, step))

    async def trail(self, event: CaseEvent) -> Trail | None:
        return self.trails.get(event.request_id)


async def per_event(
    db: AsyncDatabase[Document], calendar: WorkingCalendar, *, concurrency: int
) -> tuple[float, float, float]:
    """Events per second through the consumer's own path, and engine operations per event:
    `concurrency` requests at a time, each request's events in order; and the seconds the fold
    of them all into their months' counters takes."""
    store = MongoReportStore(
        db[f"sample_{concurrency}"], db[f"sample_deltas_{concurrency}"], Batching(concurrency)
    )
    rng = random.Random(7)
    requests = [list(case_events(rng, f"sample-{n}")) for n in range(SAMPLE // 6)]
    steps = Steps()
    for events in requests:
        for event in events:
            steps.took(event)
    pending = iter(requests)

    async def follow() -> None:
        for events in pending:
            for event in events:
                await record_for_report(
                    event=event,
                    event_id=str(uuid.uuid4()),
                    trails=steps,
                    store=store,
                    calendar=calendar,
                )

    operations = _operations()
    began = time.perf_counter()
    await asyncio.gather(*(follow() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    count = sum(len(events) for events in requests)
    per = (_operations() - operations) / count
    began = time.perf_counter()
    await store.compact()
    return count / elapsed, per, time.perf_counter() - began


def _operations() -> float:
    return sum(
        sample.value
        for metric in DB_OPERATIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--mongo-url", help="an engine to use instead of starting one")
    args = parser.parse_args()
    if args.mongo_url:
        asyncio.run(run(args.requests, args.mongo_url))
        return
    with tempfile.TemporaryDirectory(prefix="adminduk-report-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free(), kafka_bootstrap="127.0.0.1:9")
        try:
            stack.start_engines()
            asyncio.run(run(args.requests, stack.mongo_url))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
