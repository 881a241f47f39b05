"""What processing costs the engine per citizen request, counted on the real engine.

Requests go through processing as they would at five a second: each is submitted with one
document missing, gets it, and is taken from the verifiers' queue by an officer (the staff
step). The consumer's handlers get the events in the order Kafka hands them over, a round of
`ROUND` requests at a time, so each of processing's write batches holds one round, as it does when
it waits a second for others. The outbox relay publishes each write on its own, as it does when
requests come a fifth of a second apart. A minute of the deadline sweeper, the relay's sweep and
the report's fold is shared over the 300 requests such a minute brings.

Operations are read from `adminduk_db_operations_total`, by activity and command: counted, never
timed, so the figures are the same on every run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.database import AsyncDatabase

from services.processing.adapters.batching import Batching
from services.processing.adapters.mongo_at_risk import MongoAtRisk
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_queues import MongoQueues
from services.processing.adapters.mongo_report import MongoReportStore
from services.processing.adapters.mongo_timers import MongoTimers
from services.processing.config import ProcessingSettings
from services.processing.domain.report import month_of
from services.processing.entrypoints.consumer import Dependencies, subscription
from services.processing.letters.handlers import LetterDependencies
from services.processing.letters.mongo import MongoLetterIndex, MongoLetterRepository
from services.processing.service_layer import cases, deadlines
from services.processing.service_layer.cases import Officer
from services.processing.service_layer.known_cases import KnownCases
from services.processing.service_layer.report import monthly_report
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models.cases import CaseClaimed, CaseOpened
from shared.events.models.requests import DocumentAttached, RequestCompleted, RequestSubmitted
from shared.identity import Role
from shared.metrics import DB_OPERATIONS, activity
from shared.mongo import Document, OutboxRelay
from tests.builders import applicant, cipher, event_keys

BUDGET = 6.0
"""Engine operations per request for processing's handlers and background loops together."""
CLAIM_BUDGET = 7.0
"""Engine operations of the officer's claim-next: the console's, not the handlers', but it is
the queues' other half, so it is kept from growing too."""
REQUESTS = 20
ROUND = 5
"""Requests a second; also what each write batch holds."""
PER_MINUTE = 60 * ROUND
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # a Monday, 09:00 WIB
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.API)
POINT = "KANTOR_DINAS"
VERIFIER = Officer(
    actor=Actor(
        kind=ActorKind.STAFF, id="ver-1", role="verifier", service_point=POINT, channel=Channel.API
    ),
    roles=frozenset({Role.VERIFIER}),
    service_point=POINT,
)
CONSUMER, RELAY, SWEEPER, CONSOLE = "processing", "outbox-cases", "deadline-timers", "http"
FOLD = "report-compaction"
HANDLERS = (CONSUMER, RELAY, SWEEPER, FOLD)
CALENDAR = WorkingCalendar()

Operations = Counter[tuple[str, str]]


class Acknowledged:
    """A producer whose every send is acknowledged at once."""

    async def send(self, *args: object, **kwargs: object) -> asyncio.Future[None]:
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent


def operations() -> Operations:
    counted: Operations = Counter()
    for metric in DB_OPERATIONS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                counted[(sample.labels["activity"], sample.labels["command"])] += int(sample.value)
    return counted


@dataclass
class Processing:
    """Processing wired as bootstrap wires it, on a database of its own, without Kafka."""

    db: AsyncDatabase[Document]
    deps: Dependencies
    relay: OutboxRelay
    report: MongoReportStore
    written: list[tuple[str, Sequence[CloudEvent]]]

    @classmethod
    async def on(cls, db: AsyncDatabase[Document]) -> Processing:
        stored = MongoCaseRepository(db["cases"], cipher())
        await stored.ensure_indexes()
        relay = OutboxRelay(
            collection=db["cases"],
            producer=cast(AIOKafkaProducer, Acknowledged()),
            cipher=cipher(),
            keys=event_keys(),
        )
        written: list[tuple[str, Sequence[CloudEvent]]] = []

        def outbox_ready(key: str, events: Sequence[CloudEvent]) -> None:
            written.append((key, events))
            relay.wake(key, events)

        stored.outgoing.register(outbox_ready)
        one_round = Batching(max_items=ROUND, max_delay_s=60)
        report = MongoReportStore(db["report_counters"], db["report_deltas"], one_round)
        deps = Dependencies(
            repository=KnownCases(stored),
            queues=MongoQueues(db["queues"], db["queue_slots"], one_round),
            # Three timers a case.
            timers=MongoTimers(
                db["deadline_timers"], db["deadline_cursor"], Batching(3 * ROUND, 60)
            ),
            at_risk=MongoAtRisk(db["at_risk"]),
            calendar=CALENDAR,
            default_service_point=POINT,
            report=report,
            letters=LetterDependencies(
                repository=MongoLetterRepository(db["letters"], db["agenda_heads"], cipher()),
                index=MongoLetterIndex(db["letter_index"]),
                policy=ProcessingSettings().letter_policy(),
            ),
        )
        return cls(db, deps, relay, report, written)

    async def consume(self, events: Sequence[Event | CloudEvent]) -> None:
        """Hands each event to its handler, one after the other, as for one Kafka key."""
        dispatch = subscription.bind(self.deps, lambda: NOW)
        with activity(CONSUMER):
            for event in events:
                wrapped = event if isinstance(event, CloudEvent) else _from_intake(event)
                await dispatch(wrapped)

    async def relay_each_write(self) -> list[CloudEvent]:
        """Publishes every write's events on their own; returns them."""
        published: list[CloudEvent] = []
        with activity(RELAY):
            while self.written:
                key, events = self.written.pop(0)
                await self.relay.publish([key])
                published += events
        return published

    async def claim_next(self) -> str | None:
        with activity(CONSOLE):
            case = await cases.claim_next(
                officer=VERIFIER,
                stage=None,
                repository=self.deps.repository,
                queues=self.deps.queues,
                now=NOW,
            )
        return None if case is None else case.request_id

    async def a_minute_of_sweeps(self, minute: int) -> None:
        """The deadline sweeper every 10 s, the relay's sweep every 30 s and the report's fold
        once, for the `minute`th minute after `NOW`."""
        with activity(SWEEPER):
            for seconds in range(10, 70, 10):
                await deadlines.fire_due(
                    timers=self.deps.timers,
                    repository=self.deps.repository,
                    letters=self.deps.letters.repository,
                    now=NOW + timedelta(minutes=minute, seconds=seconds),
                )
        with activity(RELAY):
            for _ in range(2):
                await self.relay.sweep()
        with activity(FOLD):
            await self.report.compact()


def _from_intake(event: Event) -> CloudEvent:
    return CloudEvent.wrap(event, source="/adminduk/intake", time=NOW)


def submitted_with_a_document(request_id: str) -> list[Event]:
    return [
        RequestSubmitted(
            actor=CITIZEN,
            request_id=request_id,
            service_code="KTP_CETAK",
            tracking_number="K7M2Q9XP",
            applicant=applicant(),
            submitted_at=NOW,
            deadline_working_days=1,
            expected_at=NOW + timedelta(days=1),
            missing_documents=["KK"],
        ),
        DocumentAttached(
            actor=CITIZEN,
            request_id=request_id,
            document_id=f"kk-{request_id}",
            requirement="KK",
            media_type="application/pdf",
            size_bytes=1000,
            sha256="0" * 64,
            attached_at=NOW,
        ),
        RequestCompleted(
            actor=CITIZEN,
            request_id=request_id,
            documents={"KK": f"kk-{request_id}"},
            completed_at=NOW,
        ),
    ]


async def a_round(processing: Processing) -> list[str | None]:
    """`ROUND` requests submitted, opened, completed and taken; the ids the officer took."""
    ids = [str(uuid.uuid4()) for _ in range(ROUND)]
    await asyncio.gather(*(processing.consume(submitted_with_a_document(rid)) for rid in ids))
    opened = [e for e in await processing.relay_each_write() if e.type == CaseOpened.event_type]
    await asyncio.gather(*(processing.consume([event]) for event in opened))
    taken = [await processing.claim_next() for _ in ids]
    claimed = [e for e in await processing.relay_each_write() if e.type == CaseClaimed.event_type]
    await asyncio.gather(*(processing.consume([event]) for event in claimed))
    return taken


def per_request(before: Operations, after: Operations, requests: int) -> dict[str, float]:
    return {
        f"{activity_} {command}": (after[key] - before[key]) / requests
        for key in sorted(after)
        if after[key] != before[key]
        for activity_, command in [key]
    }


async def test_a_request_costs_processing_at_most_its_budget(
    mongo_db: AsyncDatabase[Document],
) -> None:
    processing = await Processing.on(mongo_db)
    await processing.a_minute_of_sweeps(0)  # the sweeper's cursor exists already

    start = operations()
    taken: list[str | None] = []
    for _ in range(REQUESTS // ROUND):
        taken += await a_round(processing)
    handled = operations()
    await processing.a_minute_of_sweeps(1)
    swept = operations()

    work = per_request(start, handled, REQUESTS)
    background = per_request(handled, swept, PER_MINUTE)
    costs = Counter(work) + Counter(background)
    print("\noperations per request, by activity and command:")
    for name, cost in sorted(costs.items()):
        print(f"  {name:32} {cost:6.2f}")
    processings = sum(cost for name, cost in costs.items() if name.split()[0] in HANDLERS)
    console = sum(cost for name, cost in costs.items() if name.split()[0] == CONSOLE)
    print(f"  processing's handlers and loops {processings:6.2f} (budget {BUDGET})")
    print(f"  the officer's claim (console)   {console:6.2f}")

    assert processings <= BUDGET
    assert console <= CLAIM_BUDGET
    assert None not in taken
    assert len(set(taken)) == REQUESTS
    received = await monthly_report(
        month=month_of(NOW), store=processing.deps.report, calendar=CALENDAR, now=NOW
    )
    total = next(row for row in received.rows if row.dimension == "total")
    assert (total.received, total.backlog) == (REQUESTS, REQUESTS)
    assert set(total.state_mean_s) == {"SUBMITTED"}
    timers = [doc async for doc in mongo_db["deadline_timers"].find({"entries": {"$exists": True}})]
    assert sum(len(doc["entries"]) for doc in timers) == 3 * REQUESTS
