"""The integrity engine's memory as the log grows past a regency's year: no saved document grows
with the log, and what a sweep writes stays the size of what its entries changed.

A synthetic log shaped like a regency's activity is fed to the engine a sweep's worth at a time:
300 requests a working day, each opened, claimed, read, sometimes sent back, verified, approved
and issued by 40 verifiers and 5 signers; supervisors reading cases, officers reading cases they
do not hold, deadline breaches, illegal-fee complaints and work after hours now and then. Entries
carry ids and pseudonyms only, as the log does. At each size it prints the parts remembered, the
biggest saved part, the whole memory (what the single document of before held, and rewrote on
every sweep) and, per sweep, what the save wrote:

- in memory (`--entries`, default 1,000,000: about nineteen months), through the rules and the
  engine with a store that keeps the parts a save writes and measures them;
- on the local engine (`--engine-entries`, default 100,000), through `MongoEngineProgress` on
  FerretDB, counting the commands the client sends and their bytes, and finally timing the load
  a restart does.

    .venv/bin/python -m benchmarks.integrity_memory [--entries 1000000] \\
        [--engine-entries 100000] [--sweep-entries 500]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
from pymongo import AsyncMongoClient, monitoring

from devstack.stack import Ports, Stack
from services.audit.adapters.mongo_rule_memory import SUPERSEDED_PER_DELETE, MongoEngineProgress
from services.audit.domain.alerts import Alert, AlertOrder, AlertStatus, Severity
from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.context import Context, Thresholds
from services.audit.domain.integrity.findings import Rule
from services.audit.domain.integrity.memory import MemoryChanges, RuleMemory
from services.audit.service_layer.integrity import IntegrityEngine
from services.audit.service_layer.ports import EngineProgress
from shared.calendar import JAKARTA, WorkingCalendar
from shared.events.envelope import CloudEvent
from shared.events.models.cases import (
    CaseApproved,
    CaseClaimed,
    CaseCompleted,
    CaseOpened,
    CaseResubmitted,
    CaseVerified,
    CaseViewed,
    DeadlineBreached,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.requests import RequestSubmitted
from shared.mongo import Document
from shared.outbox import Outbox

REQUESTS_PER_DAY = 300
CHECKPOINTS = (10_000, 100_000, 250_000, 500_000, 750_000, 1_000_000)
CALENDAR = WorkingCalendar()
FIRST_DAY = date(2025, 1, 2)
POINT = "KANTOR_DINAS"


def person(kind: str, number: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{kind}-{number}"))


VERIFIERS = [person("verifier", n) for n in range(40)]
SIGNERS = [person("signer", n) for n in range(5)]
SUPERVISORS = [person("supervisor", n) for n in range(3)]


def actor(kind: str, officer: str | None = None) -> dict[str, Any]:
    if officer is None:
        return {"kind": kind, "id": "processing", "channel": "system"}
    return {"kind": kind, "id": officer, "service_point": POINT, "channel": "api"}


@dataclass
class RegencyLog:
    """Entries in time order, day after day; each request's steps may spill into the next
    working day, so a day's entries are released once the next day's are made."""

    rng: random.Random = field(default_factory=lambda: random.Random(2025))
    pending: list[tuple[str, int, str, str, dict[str, Any]]] = field(default_factory=list)
    sequence: itertools.count[int] = field(default_factory=itertools.count)
    recent: list[str] = field(default_factory=list)

    def entries(self) -> Iterator[LogEntry]:
        index = itertools.count()
        day = FIRST_DAY
        while True:
            start = datetime.combine(day, datetime.min.time(), JAKARTA).astimezone(UTC)
            while self.pending and self.pending[0][0] < start.isoformat():
                at, _, event_type, subject, data = heapq.heappop(self.pending)
                number = next(index)
                yield LogEntry(
                    index=number,
                    event_id=f"evt-{number:09d}",
                    event_type=event_type,
                    source="/adminduk/bench",
                    subject=subject,
                    event_time=at,
                    recorded_at=at,
                    data=data,
                )
            if CALENDAR.is_working_day(day):
                self.working_day(day)
            day += timedelta(days=1)

    def add(self, at: datetime, event_type: str, subject: str, data: dict[str, Any]) -> None:
        moment = at.astimezone(UTC).isoformat()
        heapq.heappush(self.pending, (moment, next(self.sequence), event_type, subject, data))

    def at(self, day: date, earliest: datetime | None = None) -> datetime:
        """A moment of office time on `day`, after `earliest` if that is on the same day."""
        opening = datetime.combine(day, datetime.min.time(), JAKARTA) + timedelta(hours=8)
        moment = opening + timedelta(minutes=self.rng.uniform(5, 470))
        return max(moment, earliest + timedelta(minutes=1)) if earliest else moment

    def working_day(self, day: date) -> None:
        tomorrow = day + timedelta(days=1)
        while not CALENDAR.is_working_day(tomorrow):
            tomorrow += timedelta(days=1)
        for _ in range(REQUESTS_PER_DAY):
            self.request(day, tomorrow)
        for supervisor in SUPERVISORS:
            for request_id in self.rng.sample(self.recent, min(10, len(self.recent))):
                self.add(self.at(day), CaseViewed.event_type, request_id, self.case(supervisor))
        for curious in self.rng.sample(VERIFIERS, 4):
            for request_id in self.rng.sample(self.recent, min(3, len(self.recent))):
                self.add(self.at(day), CaseViewed.event_type, request_id, self.case(curious))
        self.recent = self.recent[-3 * REQUESTS_PER_DAY :]

    def request(self, day: date, tomorrow: date) -> None:
        rng, number = self.rng, next(self.sequence)
        request_id = str(uuid.UUID(int=number))
        submitted = self.at(day)
        self.add(
            submitted,
            RequestSubmitted.event_type,
            request_id,
            {
                "actor": {"kind": "citizen", "id": "anonymous", "channel": "api"},
                "request_id": request_id,
                "applicant": {"nik": f"{rng.getrandbits(256):064x}"},
                "form": {"family_card_number": f"{rng.getrandbits(256):064x}"},
            },
        )
        self.add(
            submitted,
            CaseOpened.event_type,
            request_id,
            {"actor": actor("system"), "request_id": request_id, "service_point": POINT},
        )
        verifier, signer = rng.choice(VERIFIERS), rng.choice(SIGNERS)
        work_day = day if rng.random() < 0.6 else tomorrow
        moment = self.at(work_day, submitted if work_day == day else None)
        steps = [(CaseClaimed.event_type, verifier), (CaseViewed.event_type, verifier)]
        if rng.random() < 0.15:
            steps += [(RevisionRequested.event_type, verifier), (CaseViewed.event_type, verifier)]
        steps += [
            (CaseVerified.event_type, verifier),
            (CaseApproved.event_type, signer),
            (DocumentIssued.event_type, signer),
        ]
        for event_type, officer in steps:
            late = rng.random() < 0.01
            at = moment.replace(hour=19) if late else moment
            self.add(at, event_type, request_id, self.case(officer))
            if event_type == RevisionRequested.event_type:
                moment += timedelta(minutes=30)
                self.add(moment, CaseResubmitted.event_type, request_id, self.case(None))
            moment += timedelta(minutes=rng.uniform(1, 20))
        self.add(moment, CaseCompleted.event_type, request_id, self.case(None))
        if rng.random() < 0.02:
            night = datetime.combine(work_day, datetime.min.time(), JAKARTA) + timedelta(hours=17)
            breach = {**self.case(None), "holder": verifier, "service_point": POINT}
            self.add(night, DeadlineBreached.event_type, request_id, breach)
        if rng.random() < 0.003:
            complaint = {
                "actor": {"kind": "citizen", "id": "anonymous", "channel": "api"},
                "category": "ILLEGAL_FEE",
                "request_id": request_id,
            }
            filed = self.at(tomorrow)
            self.add(filed, ComplaintFiled.event_type, f"complaint-{number}", complaint)
        self.recent.append(request_id)

    def case(self, officer: str | None) -> dict[str, Any]:
        return {"actor": actor("system") if officer is None else actor("staff", officer)}


class GrowingLog:
    """The log as the engine reads it: entries by index, up to where it has grown."""

    def __init__(self) -> None:
        self.logged: list[LogEntry] = []

    async def size(self) -> int:
        return len(self.logged)

    def end(self) -> int:
        return len(self.logged)

    async def append(self, entries: Sequence[LogEntry]) -> int:
        self.logged += entries
        return len(entries)

    async def at(self, indexes: Collection[int]) -> dict[int, LogEntry]:
        return {index: self.logged[index] for index in indexes if index < len(self.logged)}

    async def following(self, start: int, stop: int) -> list[LogEntry]:
        return self.logged[start:stop]

    async def entries(
        self, *, start: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[LogEntry]:
        for entry in self.logged[start:][:limit]:
            if subject in (None, entry.subject):
                yield entry


class CountedAlerts:
    """Alerts kept by id; the benchmark reports how many."""

    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.by_id: dict[str, Alert] = {}

    async def add(self, alert: Alert, outbox: Sequence[CloudEvent]) -> bool:
        return self.by_id.setdefault(alert.alert_id, alert) is alert

    async def get(self, alert_id: str) -> Alert | None:
        return self.by_id.get(alert_id)

    async def extend(self, alert: Alert) -> None:
        self.by_id[alert.alert_id] = alert

    async def change(self, before: Alert, after: Alert, outbox: Sequence[CloudEvent]) -> bool:
        self.by_id[after.alert_id] = after
        return True

    async def find(
        self,
        *,
        status: AlertStatus | None,
        rule: Rule | None,
        service_point: str | None,
        month: str | None,
        offset: int,
        limit: int,
        severity: Severity | None = None,
        order: AlertOrder = AlertOrder.NEWEST,
    ) -> list[Alert]:
        return list(self.by_id.values())[offset : offset + limit]


@dataclass
class Sweep:
    commands: int = 0
    documents: int = 0
    bytes: int = 0


class MeasuredParts:
    """The progress port in memory: the parts as a save writes them, and what each save wrote as
    `MongoEngineProgress` does: a document per part changed or forgotten (in one insert), the
    position's update, and a delete once `SUPERSEDED_PER_DELETE` documents were replaced."""

    def __init__(self) -> None:
        self.position = 0
        self.parts: dict[str, str] = {}
        self.sweeps: list[Sweep] = []
        self.superseded = 0

    async def load(self) -> tuple[int, RuleMemory]:
        return self.position, RuleMemory.from_parts(self.parts)

    async def save(self, position: int, changes: MemoryChanges, *, previous: int) -> bool:
        self.superseded += sum(name in self.parts for name in changes.written)
        self.superseded += 2 * sum(name in self.parts for name in changes.forgotten)
        written = sum(len(name) + len(value) for name, value in changes.written.items())
        written += sum(len(name) for name in changes.forgotten)
        self.parts.update(changes.written)
        for name in changes.forgotten:
            self.parts.pop(name, None)
        documents = len(changes.written) + len(changes.forgotten)
        commands = 1 + bool(documents) + (self.superseded >= SUPERSEDED_PER_DELETE)
        self.superseded %= SUPERSEDED_PER_DELETE
        self.sweeps.append(Sweep(commands=commands, documents=documents, bytes=written))
        moved = self.position == previous
        self.position = position if moved else self.position
        return moved

    def biggest(self) -> int:
        return max((len(value) for value in self.parts.values()), default=0)

    def whole(self) -> int:
        return sum(len(name) + len(value) for name, value in self.parts.items())


class Writes(monitoring.CommandListener):
    """The write commands the client sends, with their bytes as sent."""

    def __init__(self) -> None:
        self.sweep = Sweep()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        items = {"insert": "documents", "update": "updates", "delete": "deletes"}
        if event.command_name in items:
            self.sweep.commands += 1
            self.sweep.documents += len(event.command[items[event.command_name]])
            self.sweep.bytes += len(bson.encode(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def engine(log: GrowingLog, progress: EngineProgress, batch: int) -> IntegrityEngine:
    return IntegrityEngine(
        entries=log,
        progress=progress,
        alerts=CountedAlerts(),
        context=Context(thresholds=Thresholds(), calendar=CALENDAR, staff={}),
        clock=lambda: datetime.now(UTC),
        batch=batch,
    )


HEADER = (
    f"{'entries':>10} {'days':>5} {'parts':>7} {'biggest':>8} {'whole':>9} "
    f"{'cmds/sweep':>10} {'docs/sweep':>15} {'KB/sweep':>15} {'ms/sweep':>8}"
)
"""docs and KB per sweep: mean / max over the sweeps since the row before."""


def row(
    entries: int, days: int, parts: int, biggest: int, whole: int, sweeps: Sequence[Sweep]
) -> str:
    commands = statistics.mean(sweep.commands for sweep in sweeps)
    documents = [sweep.documents for sweep in sweeps]
    kilobytes = [sweep.bytes / 1000 for sweep in sweeps]
    return (
        f"{entries:>10,} {days:>5} {parts:>7,} {biggest:>6,} B {whole / 1e6:>6.1f} MB "
        f"{commands:>10.1f} {statistics.mean(documents):>7.0f} / {max(documents):>5} "
        f"{statistics.mean(kilobytes):>7.1f} / {max(kilobytes):>5.0f}"
    )


def days_of(log: GrowingLog) -> int:
    first, last = log.logged[0].event_time, log.logged[-1].event_time
    return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).days


async def in_memory(entries: int, sweep_entries: int) -> None:
    print(f"\nin memory: {entries:,} entries, {sweep_entries} a sweep")
    print(HEADER)
    log, store = GrowingLog(), MeasuredParts()
    follower = engine(log, store, sweep_entries)
    source = RegencyLog().entries()
    checkpoints = [size for size in CHECKPOINTS if size < entries] + [entries]
    since, began = 0, time.process_time()
    while len(log.logged) < entries:
        await log.append(list(itertools.islice(source, min(sweep_entries, entries - log.end()))))
        await follower.run()
        if log.end() >= checkpoints[0]:
            checkpoints.pop(0)
            sweeps = store.sweeps[since:]
            cpu_ms = (time.process_time() - began) * 1000 / len(sweeps)
            parts, biggest, whole = len(store.parts), store.biggest(), store.whole()
            print(f"{row(log.end(), days_of(log), parts, biggest, whole, sweeps)} {cpu_ms:>8.1f}")
            since, began = len(store.sweeps), time.process_time()
    idle = len(store.sweeps)
    await follower.run()
    print(f"an idle sweep saves {len(store.sweeps) - idle} times")


async def on_the_engine(stack: Stack, entries: int, sweep_entries: int) -> None:
    print(
        f"\non FerretDB through MongoEngineProgress: {entries:,} entries, {sweep_entries} a sweep"
    )
    print(HEADER)
    writes = Writes()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongo_url, tz_aware=True, event_listeners=[writes]
    )
    collection = client["adminduk_integrity_memory"]["integrity_engine"]
    log = GrowingLog()
    follower = engine(log, MongoEngineProgress(collection), sweep_entries)
    source = RegencyLog().entries()
    checkpoints = [size for size in CHECKPOINTS if size < entries] + [entries]
    sweeps: list[Sweep] = []
    began = time.perf_counter()
    while len(log.logged) < entries:
        await log.append(list(itertools.islice(source, min(sweep_entries, entries - log.end()))))
        writes.sweep = Sweep()
        await follower.run()
        sweeps.append(writes.sweep)
        if log.end() >= checkpoints[0]:
            checkpoints.pop(0)
            stored = [len(bson.encode(document)) async for document in collection.find()]
            parts = await collection.count_documents({"part": {"$exists": True}})
            wall_ms = (time.perf_counter() - began) * 1000 / len(sweeps)
            figures = row(log.end(), days_of(log), parts, max(stored), sum(stored), sweeps)
            print(f"{figures} {wall_ms:>8.1f}")
            sweeps, began = [], time.perf_counter()
    writes.sweep = Sweep()
    await follower.run()
    print(f"an idle sweep: {writes.sweep.commands} write commands")
    began = time.perf_counter()
    position, memory = await MongoEngineProgress(collection).load()
    loading = time.perf_counter() - began
    print(
        f"a restart loads {len(memory.names()):,} parts at position {position:,} in {loading:.1f} s"
    )
    await client.drop_database("adminduk_integrity_memory")
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--engine-entries", type=int, default=100_000)
    parser.add_argument("--sweep-entries", type=int, default=500)
    args = parser.parse_args()
    print(
        "parts: parts remembered (documents on the engine); biggest: the biggest saved part "
        "(document); whole: every part together, which the one document of before held and "
        "rewrote on every sweep; per sweep, mean / max since the row before"
    )
    if args.entries:
        asyncio.run(in_memory(args.entries, args.sweep_entries))
    if args.engine_entries:
        with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
            # No Kafka: the engine here reads entries from memory and raises no event.
            stack = Stack(Path(run_dir), Ports.free(), kafka_bootstrap="127.0.0.1:9")
            try:
                stack.start_engines()
                asyncio.run(on_the_engine(stack, args.engine_entries, args.sweep_entries))
            finally:
                stack.stop()


if __name__ == "__main__":
    main()
