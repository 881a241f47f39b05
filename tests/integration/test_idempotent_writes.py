"""The one idempotent write path (`apply_once`, `insert_applied`) on the real engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.events.envelope import CloudEvent
from shared.mongo import Document, apply_once, insert_applied
from tests.builders import case_opened, cipher


def outgoing(request_id: str) -> CloudEvent:
    return CloudEvent.wrap(case_opened(request_id), source="/test", time=datetime.now(UTC))


async def test_a_created_document_records_its_event_and_outbox_and_a_redelivery_creates_nothing(
    mongo_db: AsyncDatabase[Document],
) -> None:
    collection = mongo_db["cases"]
    event = outgoing("req-1")

    assert await insert_applied(collection, {"_id": "req-1", "state": "A"}, event_id="e1",
                                cipher=cipher(), outbox=[event])  # fmt: skip
    assert not await insert_applied(collection, {"_id": "req-1", "state": "B"}, event_id="e1",
                                    cipher=cipher(), outbox=[event])  # fmt: skip

    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["state"] == "A"
    assert document["processed_events"] == ["e1"]
    assert [item["id"] for item in document["outbox"]] == [event.id]


async def test_a_change_is_applied_once_however_often_its_event_arrives(
    mongo_db: AsyncDatabase[Document],
) -> None:
    collection = mongo_db["cases"]
    await insert_applied(collection, {"_id": "req-1", "state": "A", "version": 1}, event_id="e1",
                         cipher=cipher())  # fmt: skip
    event = outgoing("req-1")

    results = []
    for _ in range(3):
        results.append(
            await apply_once(
                collection, document_id="req-1", event_id="e2", changes={"state": "B"},
                cipher=cipher(), outbox=[event],
            )
        )  # fmt: skip

    assert results == [True, False, False]
    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["state"] == "B"
    assert document["processed_events"] == ["e1", "e2"]
    assert [item["id"] for item in document["outbox"]] == [event.id]


async def test_of_twenty_racing_changes_from_one_state_exactly_one_wins(
    mongo_db: AsyncDatabase[Document],
) -> None:
    collection = mongo_db["cases"]
    await insert_applied(collection, {"_id": "req-1", "state": "OPEN", "version": 1},
                         event_id="e0", cipher=cipher())  # fmt: skip

    async def claim(officer: int) -> bool:
        return await apply_once(
            collection,
            document_id="req-1",
            event_id=f"claim-{officer}",
            changes={"state": "CLAIMED", "officer": officer},
            cipher=cipher(),
            expected={"state": "OPEN", "version": 1},
        )

    results = await asyncio.gather(*(claim(officer) for officer in range(20)))

    assert results.count(True) == 1
    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["officer"] == results.index(True)
    assert document["version"] == 2
    assert len(document["processed_events"]) == 2


async def test_a_change_to_a_missing_document_changes_nothing(
    mongo_db: AsyncDatabase[Document],
) -> None:
    collection = mongo_db["cases"]

    assert not await apply_once(collection, document_id="nobody", event_id="e1",
                                changes={"state": "B"}, cipher=cipher())  # fmt: skip
    assert await collection.count_documents({}) == 0
