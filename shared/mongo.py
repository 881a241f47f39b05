"""MongoDB helpers: the client, a reachability check, and the outbox kept inside each document.

A service writes its state change and the events it must publish in one document update (the
`outbox` array); the relay publishes them and only then removes them. Nothing accepted is lost, and
nothing needs multi-document transactions or change streams.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.events.envelope import CloudEvent
from shared.events.models import EVENT_TYPES
from shared.events.topics import TOPIC_OF
from shared.polling import PollingLoop

Document = dict[str, Any]

PENDING_OUTBOX: Document = {"outbox.0": {"$exists": True}}


def new_mongo_client(url: str) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(url, tz_aware=True, serverSelectionTimeoutMS=5000)


async def mongo_reachable(db: AsyncDatabase[Document], timeout_s: float = 3.0) -> bool:
    try:
        await asyncio.wait_for(db.command("ping"), timeout_s)
    except (PyMongoError, TimeoutError):
        return False
    return True


async def insert_new(collection: AsyncCollection[Document], document: Document) -> bool:
    """Inserts a document; False if one with the same key exists, so redelivery changes nothing."""
    try:
        await collection.insert_one(document)
    except DuplicateKeyError:
        return False
    return True


def outbox_entry(event: CloudEvent) -> Document:
    """An outbox item: the topic the event goes to and its exact bytes, as stored JSON text."""
    topic = TOPIC_OF[EVENT_TYPES[event.type]]
    return {
        "id": event.id,
        "topic": topic.name,
        "key": event.subject,
        "payload": event.model_dump_json(),
    }


class OutboxRelay(PollingLoop):
    """Publishes one collection's outbox items in order, then removes them from their document."""

    def __init__(
        self,
        *,
        collection: AsyncCollection[Document],
        producer: AIOKafkaProducer,
        interval_s: float = 1.0,
    ) -> None:
        super().__init__(name=f"outbox-{collection.name}", step=self.flush, interval_s=interval_s)
        self._collection = collection
        self._producer = producer

    async def flush(self) -> int:
        """Publishes every pending item; returns how many were published."""
        published = 0
        async for document in self._collection.find(PENDING_OUTBOX, {"outbox": 1}):
            for item in document["outbox"]:
                await self._producer.send_and_wait(
                    item["topic"], item["payload"].encode(), key=item["key"].encode()
                )
                # The whole item, as read: FerretDB's $pull matches values, not conditions.
                await self._collection.update_one(
                    {"_id": document["_id"]}, {"$pull": {"outbox": item}}
                )
                published += 1
        return published
