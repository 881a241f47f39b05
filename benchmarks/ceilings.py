"""The machine's ceilings, measured on the stack's own engines just before the load.

Each is the most one building block does here when nothing else runs: MongoDB-protocol writes and
reads by _id, Kafka produce and consume, and an HTTP endpoint doing one insert. The service figures
only mean something beside them.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from benchmarks import bare_endpoint
from benchmarks.cpu import CpuMeter, process_groups
from benchmarks.load import closed_loop, new_http_client
from benchmarks.stats import Percentiles, percentiles
from devstack.forms import KTP_REPRINT
from devstack.paths import REPO_ROOT
from devstack.process import ManagedProcess, free_port
from devstack.stack import Stack, http_ok
from shared.events.topics import Topic
from shared.kafka import KafkaAccess, ensure_topics
from shared.kafka_producer import new_producer
from shared.mongo import Document, new_mongo_client

CONCURRENCY = 20
WARMUP_S = 0.5
PHASE_S = 3.0
CONSUME_TIMEOUT_S = 15.0
KAFKA_BATCH = 50
"""Messages per produce operation, sent at once and then awaited, as the outbox relay does."""
PAYLOAD = b"x" * 700
"""About the size of one of the services' CloudEvents."""
READY_TIMEOUT_S = 60.0
BARE_ENDPOINT = "bare endpoint"


@dataclass(frozen=True)
class Ceiling:
    per_s: float
    unit: str
    latency_ms: Percentiles
    """Per operation (per batch for Kafka produce); empty for Kafka consume."""
    cpu_ms: dict[str, float]
    """CPU time per unit (request, read, write, message) by process kind, while measuring."""


def _ceiling(
    units: int, elapsed_s: float, unit: str, cpu_s: Mapping[str, float], latencies_s: list[float]
) -> Ceiling:
    return Ceiling(
        per_s=units / elapsed_s if elapsed_s else 0.0,
        unit=unit,
        latency_ms=percentiles([seconds * 1000 for seconds in latencies_s]),
        cpu_ms={kind: used * 1000 / units for kind, used in cpu_s.items() if used} if units else {},
    )


async def _measure(
    operation: Callable[[int], Awaitable[object]],
    groups: Mapping[str, int],
    unit: str,
    units_per_operation: int = 1,
) -> Ceiling:
    """A short warm-up (connections, caches), then the measured phase."""
    await closed_loop(operation, concurrency=CONCURRENCY, duration_s=WARMUP_S)
    with CpuMeter(groups) as cpu:
        run = await closed_loop(operation, concurrency=CONCURRENCY, duration_s=PHASE_S)
    units = run.operations * units_per_operation
    return _ceiling(units, run.elapsed_s, unit, cpu.used, run.latencies_s)


def _document(n: int) -> Document:
    """A document shaped like an intake request."""
    return {
        "_id": n,
        **KTP_REPRINT,
        "name": f"Warga {n}",
        "status": "SUBMITTED",
        "created_at": datetime.now(UTC),
    }


async def mongo_ceilings(mongo_url: str, groups: Mapping[str, int]) -> dict[str, Ceiling]:
    """insert_one, find_one by _id and update_one by _id, in a database dropped afterwards."""
    database = f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    client = new_mongo_client(mongo_url)
    try:
        items = client[database]["items"]
        ids = itertools.count()
        inserted = await _measure(
            lambda _: items.insert_one(_document(next(ids))), groups, "writes"
        )
        stored = next(ids)
        pick = random.Random(1)
        found = await _measure(
            lambda _: items.find_one({"_id": pick.randrange(stored)}), groups, "reads"
        )
        updated = await _measure(
            lambda n: items.update_one(
                {"_id": pick.randrange(stored)}, {"$set": {"status": f"STEP_{n}"}}
            ),
            groups,
            "writes",
        )
    finally:
        await client.drop_database(database)
        await client.close()
    return {
        "engine insert_one": inserted,
        "engine find_one by _id": found,
        "engine update_one by _id": updated,
    }


async def kafka_ceilings(kafka: KafkaAccess, groups: Mapping[str, int]) -> dict[str, Ceiling]:
    """Produce (acks=all, idempotent) then consume, on a topic deleted afterwards."""
    topic = Topic(f"bench.ceiling.{uuid.uuid4().hex[:8]}", partitions=6, retention_ms=3_600_000)
    await ensure_topics(kafka, [topic], replication_factor=1)
    try:
        producer = new_producer(kafka)
        await producer.start()
        batches = itertools.count()
        try:

            async def send_batch(n: int) -> None:
                next(batches)
                deliveries = [
                    await producer.send(topic.name, PAYLOAD, key=f"{n}-{i}".encode())
                    for i in range(KAFKA_BATCH)
                ]
                await asyncio.gather(*deliveries)

            produced = await _measure(send_batch, groups, "messages", KAFKA_BATCH)
        finally:
            await producer.stop()
        consumed = await _consume(kafka, topic, KAFKA_BATCH * next(batches), groups)
    finally:
        admin = AIOKafkaAdminClient(**kafka.client_options())
        await admin.start()
        try:
            await admin.delete_topics([topic.name])
        finally:
            await admin.close()
    return {"kafka produce": produced, "kafka consume": consumed}


async def _consume(
    kafka: KafkaAccess, topic: Topic, expected: int, groups: Mapping[str, int]
) -> Ceiling:
    """How fast one consumer reads the topic from its start."""
    consumer = AIOKafkaConsumer(
        topic.name, **kafka.client_options(), group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        read = 0
        started = time.perf_counter()
        deadline = started + CONSUME_TIMEOUT_S
        with CpuMeter(groups) as cpu:
            while read < expected and time.perf_counter() < deadline:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                read += sum(len(records) for records in batches.values())
        return _ceiling(read, time.perf_counter() - started, "messages", cpu.used, [])
    finally:
        await consumer.stop()


async def bare_endpoint_ceiling(stack: Stack, groups: Mapping[str, int]) -> Ceiling:
    """POSTs to the one-insert endpoint in its own uvicorn process, as fast as it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ManagedProcess(
        BARE_ENDPOINT,
        [
            sys.executable, "-m", "benchmarks.bare_endpoint",
            f"--port={port}", f"--mongo-url={stack.mongo_url}",
        ],
        log_path=stack.run_dir / "logs" / "bare_endpoint.log",
        cwd=REPO_ROOT,
    )  # fmt: skip
    process.start()
    try:
        await asyncio.to_thread(
            process.wait_until,
            lambda: http_ok(f"{url}/healthz"),
            timeout=READY_TIMEOUT_S,
            what="answer /healthz",
        )
        async with new_http_client(url, connections=CONCURRENCY) as http:

            async def post(n: int) -> None:
                response = await http.post("/items", json={**KTP_REPRINT, "name": f"Warga {n}"})
                response.raise_for_status()

            assert process.pid is not None
            ceiling = await _measure(post, {**groups, BARE_ENDPOINT: process.pid}, "requests")
    finally:
        process.stop()
        client = new_mongo_client(stack.mongo_url)
        await client.drop_database(bare_endpoint.DATABASE)
        await client.close()
    return ceiling


async def measure_ceilings(stack: Stack) -> dict[str, Ceiling]:
    """Every ceiling, one after another so none competes with another for the CPUs."""
    groups = process_groups(stack)
    return {
        **await mongo_ceilings(stack.mongo_url, groups),
        **await kafka_ceilings(stack.kafka_access(), groups),
        "bare endpoint POST": await bare_endpoint_ceiling(stack, groups),
    }
