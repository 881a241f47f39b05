"""How the audit log's Merkle tree performs on the local engine, at a given size.

Starts the local engines on free ports, records ENTRIES events through audit's recorder
(CONCURRENCY at a time, as the consumer hands them over), signs them into checkpoints, then
measures inclusion and consistency proofs at that size, the export of the whole log and its
offline verification, and prints the figures beside the in-memory ceiling of the tree itself.

    .venv/bin/python -m benchmarks.audit_merkle [--entries 20000] [--concurrency 32] [--proofs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.stats import percentiles
from devstack.stack import Ports, Stack
from services.audit.adapters.mongo_log import MongoLogEntries
from services.audit.adapters.mongo_tree import MongoCheckpoints, MongoTreeNodes
from services.audit.domain.export import from_line, to_line
from services.audit.domain.merkle import CompactRange, leaf_hash
from services.audit.domain.note import NoteSigner, NoteVerifier
from services.audit.domain.verification import LogVerifier
from services.audit.service_layer.log import AuditRecorder
from services.audit.service_layer.tree import (
    Checkpointer,
    consistency_proof,
    export_log,
    inclusion_proof,
)
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models.notifications import NotificationSent
from shared.events.models.values import NotificationChannel
from shared.messagebus import Received
from shared.metrics import DB_OPERATIONS
from shared.mongo import new_mongo_client

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SYSTEM = Actor(kind=ActorKind.SYSTEM, id="notify", channel=Channel.API)
SIGNER = NoteSigner("adminduk.bench/audit", Ed25519PrivateKey.generate())


def event(number: int) -> Received[Event]:
    sent = NotificationSent(
        actor=SYSTEM,
        notification_id=f"evt-{number}:citizen",
        about=f"req-{number // 3}",
        channel=NotificationChannel.SMS,
        template="request_received",
        provider_message_id=f"sms-{number}",
        sent_at=NOW,
    )
    envelope = CloudEvent.wrap(sent, source="/adminduk/notify", time=NOW)
    return Received(data=sent, event_id=envelope.id, source=envelope.source, time=NOW, now=NOW)


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    began = time.perf_counter()
    await work()
    return time.perf_counter() - began


def database_operations() -> float:
    return sum(
        sample.value
        for metric in DB_OPERATIONS.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def in_memory(entries: int) -> None:
    leaves = [leaf_hash(b"%d" % number) for number in range(entries)]
    tree = CompactRange()
    began = time.perf_counter()
    for leaf in leaves:
        tree.append(leaf)
    tree.root()
    print(f"tree in memory: {entries / (time.perf_counter() - began):,.0f} leaves/s appended")


async def measure(stack: Stack, entries: int, concurrency: int, proofs: int) -> None:
    client = new_mongo_client(stack.mongo_url)
    db = client["adminduk_audit"]
    log = MongoLogEntries(db["entries"])
    await log.ensure_indexes()
    nodes = MongoTreeNodes(db["tree_nodes"])
    checkpoints = MongoCheckpoints(db["latest_checkpoint"], db["checkpoints"])
    checkpointer = Checkpointer(entries=log, nodes=nodes, checkpoints=checkpoints, signer=SIGNER)
    recorder = AuditRecorder(
        log=log, pseudonym_key=b"k" * 32, clock=lambda: NOW, appended=checkpointer.appended
    )

    async def record_all() -> None:
        for start in range(0, entries, concurrency):
            batch = range(start, min(start + concurrency, entries))
            await asyncio.gather(*(recorder.record(event(number)) for number in batch))

    recording = await timed(record_all)
    print(f"recorded {entries} entries: {entries / recording:,.0f} entries/s")

    async def sign_all() -> None:
        while await checkpointer.run() is not None:
            pass

    operations = database_operations()
    signing = await timed(sign_all)
    per_leaf = (database_operations() - operations) / entries
    print(
        f"added to the tree (leaves handed over) and signed: {entries / signing:,.0f} leaves/s, "
        f"{per_leaf:.2f} database operations a leaf"
    )

    restarted = Checkpointer(
        entries=log,
        nodes=MongoTreeNodes(db["restarted_tree_nodes"]),
        checkpoints=MongoCheckpoints(db["restarted_latest"], db["restarted_checkpoints"]),
        signer=SIGNER,
    )

    async def catch_up() -> None:
        while await restarted.run() is not None:
            pass

    catching_up = await timed(catch_up)
    rate = entries / catching_up
    print(f"a restarted instance catching up (entries read back): {rate:,.0f} leaves/s")

    indexes = random.Random(7).sample(range(1, entries), min(proofs, entries - 1))
    inclusion: list[float] = []
    operations = database_operations()
    for index in indexes:
        began = time.perf_counter()
        await inclusion_proof(nodes=nodes, checkpoints=checkpoints, index=index, tree_size=None)
        inclusion.append(time.perf_counter() - began)
    per_proof = (database_operations() - operations) / len(indexes)
    consistency: list[float] = []
    for first in indexes:
        began = time.perf_counter()
        await consistency_proof(nodes=nodes, checkpoints=checkpoints, first=first, second=None)
        consistency.append(time.perf_counter() - began)
    for label, values in (("inclusion", inclusion), ("consistency", consistency)):
        figures = percentiles([value * 1000 for value in values])
        shown = ", ".join(f"{name} {value:.1f} ms" for name, value in figures.items() if value)
        print(f"{label} proof at {entries} leaves: {shown}")
    print(f"database operations per inclusion proof: {per_proof:.1f}")

    lines: list[str] = []

    async def export() -> None:
        async for record in export_log(entries=log, nodes=nodes, checkpoints=checkpoints):
            lines.append(to_line(record))

    exporting = await timed(export)
    print(f"export: {len(lines)} lines in {exporting:.1f} s")
    await client.close()

    began = time.perf_counter()
    checker = LogVerifier(NoteVerifier.parse(SIGNER.verifier_key))
    for line in lines:
        checker.take(from_line(line))
    report = checker.report()
    verifying = time.perf_counter() - began
    assert report.valid, report.findings[:5]
    print(
        f"offline verification: {report.entries} entries and {report.checkpoints} checkpoints "
        f"in {verifying:.2f} s ({report.entries / verifying:,.0f} entries/s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--proofs", type=int, default=200)
    args = parser.parse_args()
    in_memory(max(args.entries, 1_000_000))
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free())
        try:
            stack.start_engines()
            asyncio.run(measure(stack, args.entries, args.concurrency, args.proofs))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
