"""How fast an officer takes the next case with many open cases waiting, on the local engine.

Starts PostgreSQL, FerretDB and Kafka on free ports, stores OPEN cases waiting for verification
at one service point (and as many at another, so the queue is not alone), queues them in the order
they were opened, then has officers take CLAIMS cases one after another and concurrently, and
prints the latencies of `claim_next` and how many database operations each claim took.

    .venv/bin/python -m benchmarks.claim_next [--open 100000] [--claims 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.stats import percentiles
from devstack.stack import Ports, Stack
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_queues import MongoQueues
from services.processing.domain.case_opening import open_case
from services.processing.domain.priority import Lane
from services.processing.domain.queues import QueueKey
from services.processing.service_layer import cases
from services.processing.service_layer.cases import Officer
from shared.calendar import WorkingCalendar
from shared.crypto import Cipher
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.cases import CaseStage
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.identity import Role
from shared.metrics import DB_OPERATIONS
from shared.mongo import new_mongo_client

BATCH = 1000
POINTS = ("KANTOR_DINAS", "MPP_MOJOKERTO")
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
CALENDAR = WorkingCalendar()


def submitted(number: int, point: str) -> RequestSubmitted:
    counter = Actor(
        kind=ActorKind.STAFF, id="counter-1", role="counter_officer", service_point=point,
        channel=Channel.API,
    )  # fmt: skip
    return RequestSubmitted(
        actor=counter,
        request_id=f"{point}-{number:07d}",
        service_code="KK_BARU",
        tracking_number=f"{number:08d}",
        applicant=Applicant(
            nik="3516091204800001",
            name="Siti Aminah",
            phone="+6281234567890",
            preferred_channel=NotificationChannel.SMS,
        ),
        submitted_at=START,
        deadline_working_days=1,
        expected_at=START + timedelta(days=1),
    )


async def fill(stack: Stack, open_cases: int) -> None:
    client = new_mongo_client(stack.mongo_url)
    db = client["adminduk_processing"]
    cipher = Cipher(data_keys=[b"k" * 32], lookup_key=b"l" * 32)
    repository = MongoCaseRepository(db["cases"], cipher)
    await repository.ensure_indexes()
    started = time.perf_counter()
    for point in POINTS:
        for first in range(0, open_cases, BATCH):
            numbers = range(first, min(first + BATCH, open_cases))
            documents = []
            for number in numbers:
                case = open_case(
                    submitted(number, point),
                    now=START + timedelta(seconds=number),
                    calendar=CALENDAR,
                    default_service_point=point,
                )
                documents.append(case)
            await asyncio.gather(
                *(
                    repository.add(case, processed_event_id=f"e-{case.request_id}", outbox=[])
                    for case in documents
                )
            )
            key = QueueKey(point, CaseStage.VERIFICATION, Lane.NORMAL)
            await db["queue_slots"].insert_many(
                [
                    {"_id": f"{key.id}:{number:012d}", "request_id": case.request_id,
                     "at": case.opened_at}
                    for number, case in zip(numbers, documents, strict=True)
                ]
            )  # fmt: skip
            await db["queues"].update_one(
                {"_id": key.id},
                {"$set": {"head": 0, "tail": numbers[-1] + 1}, "$inc": {"version": 1}},
                upsert=True,
            )
    print(f"stored {open_cases * len(POINTS)} open cases in {time.perf_counter() - started:.0f} s")
    await client.close()


async def claim(stack: Stack, claims: int, concurrency: int) -> None:
    client = new_mongo_client(stack.mongo_url)
    db = client["adminduk_processing"]
    cipher = Cipher(data_keys=[b"k" * 32], lookup_key=b"l" * 32)
    repository = MongoCaseRepository(db["cases"], cipher)
    queues = MongoQueues(db["queues"], db["queue_slots"])

    async def one(name: str) -> float:
        officer = Officer(
            actor=Actor(
                kind=ActorKind.STAFF, id=name, service_point=POINTS[0], channel=Channel.API
            ),
            roles=frozenset({Role.VERIFIER}),
            service_point=POINTS[0],
        )
        began = time.perf_counter()
        taken = await cases.claim_next(
            officer=officer,
            stage=None,
            repository=repository,
            queues=queues,
            now=datetime.now(UTC),
        )
        assert taken is not None
        return time.perf_counter() - began

    operations_before = database_operations()
    sequential = [await one(f"officer-{n}") for n in range(claims)]
    operations = database_operations()
    concurrent: list[float] = []
    for start in range(0, claims, concurrency):
        concurrent += await asyncio.gather(*(one(f"crowd-{start + n}") for n in range(concurrency)))
    await client.close()
    for label, values in (("one officer", sequential), (f"{concurrency} at once", concurrent)):
        figures = percentiles([value * 1000 for value in values])
        shown = ", ".join(f"{name} {value:.1f} ms" for name, value in figures.items() if value)
        print(f"claim-next, {label:>12}: {shown}")
    per_claim = (operations - operations_before) / claims
    print(f"database operations per claim: {per_claim:.1f}")


def nowhere(key: str, events: Sequence[CloudEvent] = ()) -> None:
    """No relay runs here: the outbox items stay in the case documents."""


def database_operations() -> float:
    return sum(
        sample.value
        for metric in DB_OPERATIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--open", type=int, default=100_000, help="open cases per service point")
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free())
        try:
            stack.start_engines()
            asyncio.run(fill(stack, args.open))
            asyncio.run(claim(stack, args.claims, args.concurrency))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
