"""The integrity engine's progress on MongoDB (the real FerretDB): the port's contract, what a save
sends to the engine, documents that each hold one part, and the position document of before."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import bson
import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.audit.adapters.mongo_rule_memory import ENGINE, MongoEngineProgress
from services.audit.domain.integrity.memory import RuleMemory
from shared.mongo import Document
from tests.contracts.integrity import SEEN, EngineProgressContract, Instance, remembered

WRITES = frozenset({"insert", "update", "delete"})


class TestMongoEngineProgress(EngineProgressContract):
    @pytest.fixture
    def instance(self, mongo_db: AsyncDatabase[Document]) -> Instance:
        return lambda: MongoEngineProgress(mongo_db["integrity_engine"])


class Writes(monitoring.CommandListener):
    """Every write command the client sends, with how many documents or statements it carries."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, int]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in WRITES:
            items = {"insert": "documents", "update": "updates", "delete": "deletes"}
            self.commands.append(
                (event.command_name, len(event.command[items[event.command_name]]))
            )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> AsyncIterator[tuple[AsyncDatabase[Document], Writes]]:
    listener = Writes()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongo_url, tz_aware=True, event_listeners=[listener]
    )
    try:
        yield client[mongo_db.name], listener
    finally:
        await client.close()


async def test_a_save_is_one_insert_of_the_changed_parts_then_one_update_of_the_position(
    watched: tuple[AsyncDatabase[Document], Writes],
) -> None:
    db, writes = watched
    store = MongoEngineProgress(db["integrity_engine"])
    memory = remembered(*(f"req-{n}" for n in range(50)))
    assert await store.save(500, memory.take_changes(), previous=0)
    writes.commands.clear()

    memory.request("req-7", SEEN).touched["verifier-2"] = 501
    memory.request("req-50", SEEN)
    assert await store.save(1000, memory.take_changes(), previous=500)
    changed = list(writes.commands)
    writes.commands.clear()
    assert await store.save(1500, memory.take_changes(), previous=1000)

    assert changed == [("insert", 2), ("update", 1)]
    assert writes.commands == [("update", 1)]
    assert await MongoEngineProgress(db["integrity_engine"]).load() == (1500, memory)


async def test_each_document_holds_one_part_and_replaced_ones_go_a_batch_at_a_time(
    watched: tuple[AsyncDatabase[Document], Writes],
) -> None:
    db, writes = watched
    store = MongoEngineProgress(db["integrity_engine"], superseded_per_delete=10)
    memory = remembered(*(f"req-{n}" for n in range(20)))
    await store.save(100, memory.take_changes(), previous=0)
    writes.commands.clear()

    for sweep in range(1, 13):
        memory.request(f"req-{sweep % 3}", SEEN + timedelta(days=1)).touched["verifier-2"] = sweep
        await store.save(100 * (sweep + 1), memory.take_changes(), previous=100 * sweep)
    memory.forget_before(SEEN + timedelta(seconds=1))
    await store.save(1400, memory.take_changes(), previous=1300)

    assert [name for name, _ in writes.commands].count("delete") == 2
    assert ("delete", 10) in writes.commands
    documents = await db["integrity_engine"].find().to_list()
    parts = [document for document in documents if document["_id"] != ENGINE]
    assert sorted(memory.requests) == ["req-0", "req-1", "req-2"]
    assert len(parts) <= len(memory.names()) + 10
    assert max(len(bson.encode(document)) for document in documents) < 1024
    assert await MongoEngineProgress(db["integrity_engine"]).load() == (1400, memory)


async def test_a_position_document_of_before_loads_and_its_memory_turns_into_parts(
    mongo_db: AsyncDatabase[Document],
) -> None:
    old = {
        "requests": {
            "req-1": {
                "last_seen": SEEN.isoformat(),
                "service_point": "KANTOR_DINAS",
                "applicant_nik": "nik-pseudonym",
                "applicant_family_card": None,
                "assigned": ["verifier-2"],
                "touched": {"verifier-2": 4},
                "send_backs": [5],
                "sent_back_by": ["verifier-2"],
                "self_dealing": [],
            }
        },
        "unassigned_reads": {
            "verifier-1 2025-03-03": {"last_seen": SEEN.isoformat(), "indexes": [2]}
        },
        "breaches": {},
        "off_hours": {},
    }
    collection = mongo_db["integrity_engine"]
    await collection.insert_one(
        {"_id": ENGINE, "version": 0, "position": 7, "memory": json.dumps(old)}
    )
    store = MongoEngineProgress(collection)

    position, memory = await store.load()
    assert (position, memory) == (7, RuleMemory.from_json(json.dumps(old)))
    memory.request("req-2", SEEN)
    assert await store.save(9, memory.take_changes(), previous=7)

    engine = await collection.find_one({"_id": ENGINE})
    assert engine is not None
    assert "memory" not in engine
    assert await collection.count_documents({"part": {"$exists": True}}) == 3
    assert await MongoEngineProgress(collection).load() == (9, memory)
