"""Audit's log, tree and checkpoints on MongoDB (the real FerretDB): the port contracts, several
instances appending and signing at once, proofs read by `_id` only, and tampering found by index."""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.audit.adapters.mongo_log import MongoLogEntries
from services.audit.adapters.mongo_tree import MongoCheckpoints, MongoTreeNodes
from services.audit.domain.checkpoint import Checkpoint, sign_checkpoint
from services.audit.domain.merkle import CompactRange, verify_consistency, verify_inclusion
from services.audit.domain.note import NoteVerifier
from services.audit.domain.verification import Problem, Report
from services.audit.service_layer.log import AuditRecorder
from services.audit.service_layer.tree import (
    Checkpointer,
    consistency_proof,
    inclusion_proof,
    verify_log,
)
from shared.events.envelope import Event
from shared.messagebus import Received
from shared.mongo import Document
from tests.builders import T0, request_submitted, wrapped
from tests.contracts.audit import (
    ORIGIN,
    SIGNER,
    CheckpointStoreContract,
    LogEntriesContract,
    TreeNodesContract,
    log_entries,
)
from tests.fakes import FakeClock

VERIFIER = NoteVerifier.parse(SIGNER.verifier_key)


class TestMongoLogEntries(LogEntriesContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoLogEntries:
        entries = MongoLogEntries(mongo_db["entries"])
        await entries.ensure_indexes()
        return entries


class TestMongoTreeNodes(TreeNodesContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoTreeNodes:
        return MongoTreeNodes(mongo_db["tree_nodes"])


class TestMongoCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoCheckpoints:
        return MongoCheckpoints(mongo_db["latest_checkpoint"], mongo_db["checkpoints"])


@dataclass
class Instance:
    """What one audit process holds: its own adapters over the shared database."""

    entries: MongoLogEntries
    nodes: MongoTreeNodes
    checkpoints: MongoCheckpoints
    checkpointer: Checkpointer = field(init=False)

    def __post_init__(self) -> None:
        self.checkpointer = Checkpointer(
            entries=self.entries, nodes=self.nodes, checkpoints=self.checkpoints, signer=SIGNER
        )

    async def verify(self) -> Report:
        return await verify_log(
            entries=self.entries, nodes=self.nodes, checkpoints=self.checkpoints, verifier=VERIFIER
        )


async def instance(db: AsyncDatabase[Document]) -> Instance:
    entries = MongoLogEntries(db["entries"])
    await entries.ensure_indexes()
    await entries.size()
    return Instance(
        entries, MongoTreeNodes(db["tree_nodes"]), MongoCheckpoints(db["latest"], db["checkpoints"])
    )


def received(event: Event, event_id: str) -> Received[Event]:
    envelope = wrapped(event)
    return Received(data=event, event_id=event_id, source="/test", time=envelope.time, now=T0)


async def all_entries(log: Instance) -> list[Any]:
    return [entry async for entry in log.entries.entries()]


async def test_instances_log_every_event_once_in_one_numbering_and_sign_one_history(
    mongo_db: AsyncDatabase[Document],
) -> None:
    """Three audit instances get every event (each one twice, as redeliveries) and sign while
    they append; the log holds each event once, indexes without gaps, and one line of checkpoints
    that all extend one another."""
    instances = [await instance(mongo_db) for _ in range(3)]
    recorders = [
        AuditRecorder(log=log.entries, pseudonym_key=b"k", clock=FakeClock(T0)) for log in instances
    ]
    events = [received(request_submitted(f"req-{n}"), f"evt-{n}") for n in range(60)]

    async def deliver(recorder: AuditRecorder, offset: int) -> None:
        for event in events[offset:] + events[:offset]:
            await recorder.record(event)

    async def sign_meanwhile(log: Instance, done: asyncio.Event) -> None:
        while not done.is_set():
            await log.checkpointer.run()
            await asyncio.sleep(0.01)

    done = asyncio.Event()
    signing = [asyncio.create_task(sign_meanwhile(log, done)) for log in instances]
    await asyncio.gather(*(deliver(recorder, 20 * n) for n, recorder in enumerate(recorders)))
    done.set()
    await asyncio.gather(*signing)
    await instances[0].checkpointer.run()

    logged = await all_entries(instances[0])
    assert sorted(entry.event_id for entry in logged) == sorted(f"evt-{n}" for n in range(60))
    assert [entry.index for entry in logged] == list(range(60))
    history = await instances[0].checkpoints.history()
    assert history[-1].size == 60
    tree = CompactRange()
    for checkpoint in history:
        while tree.size < checkpoint.size:
            tree.append(logged[tree.size].leaf_hash())
        assert tree.root() == checkpoint.root_hash
    for earlier, later in itertools.pairwise(history):
        proof = await consistency_proof(
            nodes=instances[1].nodes,
            checkpoints=instances[1].checkpoints,
            first=earlier.size,
            second=later.size,
        )
        assert verify_consistency(
            first=earlier.size,
            second=later.size,
            first_root=earlier.root_hash,
            second_root=later.root_hash,
            proof=proof.proof,
        )
    assert (await instances[2].verify()).valid


class FindsByIdOnly(monitoring.CommandListener):
    """Keeps the filter of every find the client sends."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(dict(event.command["filter"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> AsyncIterator[tuple[AsyncDatabase[Document], FindsByIdOnly]]:
    listener = FindsByIdOnly()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongo_url, tz_aware=True, event_listeners=[listener]
    )
    try:
        yield client[mongo_db.name], listener
    finally:
        await client.close()


async def test_signing_and_proving_read_by_id_only_and_a_proof_costs_log_n_reads(
    watched: tuple[AsyncDatabase[Document], FindsByIdOnly],
) -> None:
    db, listener = watched
    log = await instance(db)
    await log.entries.append(log_entries(*(f"req-{n}" for n in range(1000))))
    latest = await log.checkpointer.run()
    assert latest is not None
    assert latest.size == 1000
    listener.filters.clear()

    proof = await inclusion_proof(
        nodes=log.nodes, checkpoints=log.checkpoints, index=737, tree_size=None
    )

    assert verify_inclusion(
        index=737, size=1000, leaf=proof.leaf_hash, proof=proof.proof, root=latest.root_hash
    )
    assert all(set(found) == {"_id"} for found in listener.filters), listener.filters
    assert len(listener.filters) <= 2 + 2 * 10


async def test_a_restarted_instance_signs_on_from_the_stored_tree(
    mongo_db: AsyncDatabase[Document],
) -> None:
    first = await instance(mongo_db)
    await first.entries.append(log_entries(*(f"req-{n}" for n in range(7))))
    await first.checkpointer.run()
    restarted = await instance(mongo_db)
    await restarted.entries.append(log_entries("req-7", "req-8", start=7))

    signed = await restarted.checkpointer.run()

    assert signed is not None
    assert signed.size == 9
    assert (await restarted.verify()).valid


@pytest.fixture
async def signed_log(mongo_db: AsyncDatabase[Document]) -> Instance:
    """Ten entries, signed at sizes 4, 8 and 10."""
    log = await instance(mongo_db)
    for start, end in [(0, 4), (4, 8), (8, 10)]:
        await log.entries.append(log_entries(*(f"req-{n}" for n in range(start, end)), start=start))
        await log.checkpointer.run()
    return log


def findings(report: Report) -> list[tuple[Problem, int | None, int | None]]:
    return [(finding.problem, finding.index, finding.tree_size) for finding in report.findings]


async def test_an_entry_edited_in_the_database_is_named(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    await mongo_db["entries"].update_one({"_id": 6}, {"$set": {"data.n": 60}})

    assert findings(await signed_log.verify())[:1] == [(Problem.EDITED, 6, None)]


async def test_an_entry_deleted_from_the_database_is_named(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    await mongo_db["entries"].delete_one({"_id": 2})

    assert findings(await signed_log.verify()) == [(Problem.MISSING, 2, None)]


async def test_entries_reordered_in_the_database_are_named(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    entries = mongo_db["entries"]
    one, five = await entries.find_one({"_id": 1}), await entries.find_one({"_id": 5})
    assert one is not None
    assert five is not None
    await entries.delete_many({"_id": {"$in": [1, 5]}})
    await entries.insert_many([{**five, "_id": 1}, {**one, "_id": 5}])

    assert findings(await signed_log.verify())[:2] == [
        (Problem.MOVED, 1, None),
        (Problem.MOVED, 5, None),
    ]


async def test_an_entry_inserted_into_the_database_is_named(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    entries = mongo_db["entries"]
    for index in range(9, 2, -1):
        moved = await entries.find_one({"_id": index})
        assert moved is not None
        await entries.delete_one({"_id": index})
        await entries.insert_one({**moved, "_id": index + 1})
    forged = {**(await entries.find_one({"_id": 2}) or {}), "_id": 3, "event_id": "evt-forged"}
    await entries.insert_one(forged)

    report = await signed_log.verify()

    assert findings(report)[:2] == [(Problem.INSERTED, 3, None), (Problem.MOVED, 4, None)]
    assert report.findings[1].through == 9


async def test_a_checkpoint_forked_in_the_database_is_named(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    fork = sign_checkpoint(Checkpoint(ORIGIN, 8, b"\x42" * 32), SIGNER)
    await mongo_db["checkpoints"].update_one(
        {"_id": 8},
        {"$set": {"note": fork.note, "root_hash": base64.b64encode(fork.root_hash).decode()}},
    )

    assert (Problem.FORKED, None, 8) in findings(await signed_log.verify())


async def test_a_latest_checkpoint_forked_in_the_database_stops_signing(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    fork = sign_checkpoint(Checkpoint(ORIGIN, 10, b"\x42" * 32), SIGNER)
    await mongo_db["latest"].update_one(
        {"_id": "latest"},
        {
            "$set": {"note": fork.note, "root_hash": base64.b64encode(fork.root_hash).decode()},
            "$inc": {"version": 1},
        },
    )
    await signed_log.entries.append(log_entries("req-10", start=10))

    assert await signed_log.checkpointer.run() is None
    assert [c.size for c in await signed_log.checkpoints.history()] == [4, 8, 10]


async def test_an_entry_deleted_before_it_was_signed_stops_signing(
    mongo_db: AsyncDatabase[Document], signed_log: Instance
) -> None:
    await signed_log.entries.append(log_entries(*(f"req-{n}" for n in range(10, 21)), start=10))
    await mongo_db["entries"].delete_one({"_id": 11})
    restarted = await instance(mongo_db)

    assert await restarted.checkpointer.run() is None
    assert (await restarted.checkpoints.latest() or pytest.fail("none")).size == 10
