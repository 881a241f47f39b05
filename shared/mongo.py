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
from shared.metrics import OUTBOX_PUBLISHED
from shared.polling import PollingLoop

Document = dict[str, Any]

PENDING_OUTBOX: Document = {"outbox.0": {"$exists": True}}
SWEEP_CHUNK = 200


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
    """Publishes one collection's outbox items in order, then removes them from their document.

    `wake(document_id)` after a write publishes that document's items at once; the sweep finds
    documents whose items no one asked for (e.g. written just before a crash).
    """

    def __init__(
        self,
        *,
        collection: AsyncCollection[Document],
        producer: AIOKafkaProducer,
        sweep_interval_s: float = 30.0,
    ) -> None:
        super().__init__(
            name=f"outbox-{collection.name}",
            handle=self.publish,
            sweep=self.sweep,
            sweep_interval_s=sweep_interval_s,
        )
        self._collection = collection
        self._producer = producer

    async def publish(self, document_ids: list[str]) -> int:
        """Publishes the pending items of the given documents; returns how many."""
        documents = []
        for document_id in document_ids:
            document = await self._collection.find_one({"_id": document_id}, {"outbox": 1})
            if document is not None and document.get("outbox"):
                documents.append(document)
        return await self._publish(documents)

    async def sweep(self) -> int:
        """Publishes every pending item of the collection; returns how many."""
        published = 0
        chunk: list[Document] = []
        async for document in self._collection.find(PENDING_OUTBOX, {"outbox": 1}):
            chunk.append(document)
            if len(chunk) == SWEEP_CHUNK:
                published += await self._publish(chunk)
                chunk = []
        return published + await self._publish(chunk)

    async def _publish(self, documents: list[Document]) -> int:
        """Sends all items at once, so the producer batches them, and removes them once all are
        acknowledged. Items of one document go in order to one partition; if any send fails,
        none is removed and all are sent again later, which consumers deduplicate."""
        deliveries = [
            await self._producer.send(
                item["topic"], item["payload"].encode(), key=item["key"].encode()
            )
            for document in documents
            for item in document["outbox"]
        ]
        await asyncio.gather(*deliveries)
        OUTBOX_PUBLISHED.labels(self._collection.name).inc(len(deliveries))
        for document in documents:
            # The items as read: FerretDB's pulls match values, not conditions.
            await self._collection.update_one(
                {"_id": document["_id"]}, {"$pullAll": {"outbox": document["outbox"]}}
            )
        return len(deliveries)
