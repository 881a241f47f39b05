"""MongoDB helpers: the client, the one way to write documents, and the outbox inside each.

A service writes its state change and the events it must publish in one document update (the
`outbox` array, with the document marked `unpublished`); the relay publishes them and only then
removes them. Nothing accepted is lost, and nothing needs multi-document transactions or change
streams.

Every document carries a `version` that every update raises by one. On MongoDB a single-document
update is atomic anyway; the local engine (FerretDB) is not, and its version guard refuses a write
based on a stale read, which `update_document` then retries on the current document.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError
from pymongo.results import BulkWriteResult

from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.events.models import EVENT_TYPES
from shared.events.sealing import EventKeys
from shared.kafka_producer import Producer
from shared.metrics import OUTBOX_PUBLISHED, EngineWatch, OperationCounter, PoolWatch
from shared.polling import PollingLoop
from shared.transient import is_write_conflict

Document = dict[str, Any]
T = TypeVar("T")

VERSION = "version"
MAX_CONNECTIONS = 16
"""Per service process; beyond this, operations queue in the driver rather than in the engine.
The local engine may hold two or three PostgreSQL connections for one operation, so four
processes' worth stays well below its pool of 300 (`devstack/postgres.py`)."""

UNPUBLISHED = "unpublished"
"""True while the document's `outbox` holds items: an indexed top-level equality is what both
engines find without reading every document (the local engine filters array paths and `$exists`
by reading them all)."""
PENDING_OUTBOX: Document = {UNPUBLISHED: True}
PENDING_INDEX = "outbox_unpublished"
"""Made by each relay before its first sweep, so every collection with an outbox has it; on the
local engine its PostgreSQL twin (`devstack/ferretdb/tables.sql`) is what serves the equality."""
BATCH = 200
UPDATES_PER_COMMAND = 4
"""The local engine (FerretDB 1.24) keeps each update of a command reading from its own
PostgreSQL connection until the whole command ends, while it takes another to write: one command
of 200 updates held 200 connections, and two such commands of a burst exhausted its pool for
good. So a batch of updates goes in commands of a few."""


def new_mongo_client(url: str) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        maxPoolSize=MAX_CONNECTIONS,
        event_listeners=[OperationCounter(), PoolWatch(), EngineWatch()],
    )


async def mongo_reachable(db: AsyncDatabase[Document], timeout_s: float = 3.0) -> bool:
    try:
        await asyncio.wait_for(db.command("ping"), timeout_s)
    except (PyMongoError, TimeoutError):
        return False
    return True


async def insert_new(collection: AsyncCollection[Document], document: Document) -> bool:
    """Inserts a document at version 0; False if one with the same key exists, so redelivery
    changes nothing."""
    try:
        await collection.insert_one({VERSION: 0, **document})
    except DuplicateKeyError:
        return False
    return True


def versioned(update: Document) -> Document:
    """The update with the document's version raised by one, as every update must."""
    return {**update, "$inc": {**update.get("$inc", {}), VERSION: 1}}


async def retry_write_conflicts(write: Callable[[], Awaitable[T]], *, attempts: int = 100) -> T:
    """Runs `write` again while another writer changed the document first."""
    for attempt in range(1, attempts + 1):
        try:
            return await write()
        except OperationFailure as exc:
            if attempt == attempts or not is_write_conflict(exc):
                raise
            await asyncio.sleep(random.uniform(0, 0.001 * min(attempt, 20)))
    raise AssertionError("unreachable")


async def update_document(
    collection: AsyncCollection[Document],
    document_id: str,
    update: Document,
    *,
    expected: Document | None = None,
) -> bool:
    """Updates one document by `_id` if it matches `expected`; False if nothing matched.

    Of concurrent updates whose `expected` holds only before they apply, exactly one applies.
    """
    result = await retry_write_conflicts(
        lambda: collection.update_one({**(expected or {}), "_id": document_id}, versioned(update))
    )
    return result.modified_count == 1


async def upsert_document(
    collection: AsyncCollection[Document], document_id: str, update: Document
) -> Document:
    """Applies `update` (which raises the version itself) to document `document_id`, making it
    if there is none, and returns the document as the update left it.

    Of two writers making one document at once, one makes it and the other's insert clashes; that
    one is applied again, as an update of the document just made.
    """
    while True:
        try:
            document: Document | None = await retry_write_conflicts(
                lambda: collection.find_one_and_update(
                    {"_id": document_id},
                    update,
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            )
        except DuplicateKeyError:
            continue
        if document is None:
            raise RuntimeError(f"{collection.name} {document_id} was not made by its upsert")
        return document


def outbox_entry(event: CloudEvent, cipher: Cipher) -> Document:
    """An outbox item: the topic the event goes to and its exact bytes, sealed because events
    carry personal data. Sealed the same way every time, so it can be removed by value."""
    return {
        "id": event.id,
        "topic": EVENT_TYPES[event.type].topic.name,
        "key": event.subject,
        "payload": cipher.seal_stable(event.to_json_bytes(), context=_outbox_context(event.id)),
    }


def _outbox_context(event_id: str) -> str:
    return f"outbox/{event_id}"


def outbox_fields(events: Sequence[CloudEvent], cipher: Cipher) -> Document:
    """A new document's outbox: its items, and the mark the relay's sweep finds it by."""
    items = [outbox_entry(event, cipher) for event in events]
    return {"outbox": items, UNPUBLISHED: bool(items)}


def with_outbox(update: Document, events: Sequence[CloudEvent], cipher: Cipher) -> Document:
    """The update, also adding the events to the document's outbox and marking it unpublished.

    Without events the mark is left as it is: setting it would only cost the sweep a read.
    """
    pushed = {
        **update,
        "$push": {
            **update.get("$push", {}),
            "outbox": {"$each": [outbox_entry(event, cipher) for event in events]},
        },
    }
    if not events:
        return pushed
    return {**pushed, "$set": {**update.get("$set", {}), UNPUBLISHED: True}}


async def apply_once(
    collection: AsyncCollection[Document],
    *,
    document_id: str,
    event_id: str,
    changes: Document,
    cipher: Cipher,
    outbox: Sequence[CloudEvent] = (),
    expected: Document | None = None,
    appended: Document | None = None,
) -> bool:
    """Applies the change an event causes, records the event and queues the outbox, in one update.

    `changes` are set; `appended` maps array fields to one item each to add to them.

    The document lists the ids of the events it applied (`processed_events`); one that applied
    `event_id` already matches no filter, so a redelivered event changes nothing. `expected`
    adds conditions (e.g. `{"state": ..., "version": ...}`) so that of two racing changes exactly
    one matches. False when nothing matched: applied before, gone, or not as expected.
    """
    update: Document = {"$push": {"processed_events": event_id, **(appended or {})}}
    if changes:
        update["$set"] = changes
    return await update_document(
        collection,
        document_id,
        with_outbox(update, outbox, cipher),
        expected={**(expected or {}), "processed_events": {"$ne": event_id}},
    )


async def insert_applied(
    collection: AsyncCollection[Document],
    document: Document,
    *,
    event_id: str,
    cipher: Cipher,
    outbox: Sequence[CloudEvent] = (),
) -> bool:
    """Creates the document an event causes, with the event recorded and the outbox queued.

    False if the document exists, so a redelivered event creates nothing.
    """
    return await insert_new(
        collection,
        {
            **document,
            "processed_events": [event_id],
            **outbox_fields(outbox, cipher),
        },
    )


class OutboxRelay(PollingLoop):
    """Publishes one collection's outbox items in order, then removes them from their document.

    Each event's personal fields are sealed for its topic as it goes out (`EventKeys.seal`), so
    the outbox keeps the exact items written and removes them by value.

    Writers hand over what they just stored (`wake(document_id, events)`), so the steady state
    reads nothing back: whatever was handed over meanwhile goes in one pipelined send and one
    clearing write. The sweep finds documents whose items no one handed over (e.g. written just
    before a crash, or more than the relay holds in memory while Kafka is away) by their
    `unpublished` mark, through an index, so it reads only those.
    """

    def __init__(
        self,
        *,
        collection: AsyncCollection[Document],
        producer: Producer,
        cipher: Cipher,
        keys: EventKeys,
        sweep_interval_s: float = 30.0,
        max_held_documents: int = 10_000,
    ) -> None:
        super().__init__(
            name=f"outbox-{collection.name}",
            handle=self.publish,
            sweep=self.sweep,
            sweep_interval_s=sweep_interval_s,
        )
        self._collection = collection
        self._producer = producer
        self._cipher = cipher
        self._keys = keys
        self._max_held = max_held_documents
        self._held: dict[str, list[Document]] = {}
        self._read_back: set[str] = set()
        self._indexed = False

    def wake(self, key: str, events: Sequence[CloudEvent] = ()) -> None:
        """Publishes soon what document `key` just stored; given the `events`, without reading.

        A document once read back stays so until then, so its items still go out in order.
        """
        holds = key in self._held or len(self._held) < self._max_held
        if events and holds and key not in self._read_back:
            self._held.setdefault(key, []).extend(
                outbox_entry(event, self._cipher) for event in events
            )
        else:
            self._held.pop(key, None)
            self._read_back.add(key)
        super().wake(key)

    async def publish(self, document_ids: list[str]) -> int:
        """Publishes the pending items of the given documents; returns how many.

        Documents with nothing handed over are read by `_id`, concurrently rather than with one
        `$in` query, which the local engine answers by scanning the whole collection.
        """
        published = 0
        for start in range(0, len(document_ids), BATCH):
            chunk = document_ids[start : start + BATCH]
            held: list[Document] = [
                {"_id": document_id, "outbox": list(self._held[document_id])}
                for document_id in chunk
                if document_id in self._held
            ]
            found = await asyncio.gather(
                *(
                    self._collection.find_one({"_id": document_id}, {"outbox": 1})
                    for document_id in chunk
                    if document_id not in self._held
                )
            )
            documents = held + [document for document in found if document and document["outbox"]]
            published += await self._publish(documents)
            for document in held:
                # Gone if the document was switched to reading back meanwhile.
                current = self._held.pop(document["_id"], [])
                if remaining := current[len(document["outbox"]) :]:
                    self._held[document["_id"]] = remaining
            self._read_back.difference_update(chunk)
        return published

    async def sweep(self) -> int:
        """Publishes every pending item of the collection; returns how many.

        A marked document found with nothing in its outbox (relays of two instances removed its
        items by value at once) goes through the same clearing write with nothing to send: one
        write, once, where leaving its mark would cost a read at every sweep from then on.
        """
        if not self._indexed:
            await self._collection.create_index([(UNPUBLISHED, ASCENDING)], name=PENDING_INDEX)
            self._indexed = True
        published = 0
        chunk: list[Document] = []
        async for document in self._collection.find(PENDING_OUTBOX, {"outbox": 1}):
            chunk.append(document)
            if len(chunk) == BATCH:
                published += await self._publish(chunk)
                chunk = []
        return published + await self._publish(chunk)

    async def _publish(self, documents: list[Document]) -> int:
        """Sends all items at once, so the producer batches them, and removes them once all are
        acknowledged. Items of one document go in order to one partition; if any send fails,
        none is removed and all are sent again later, which consumers deduplicate."""
        if not documents:
            return 0
        deliveries = [
            await self._producer.send(
                item["topic"],
                self._keys.seal_payload(
                    self._cipher.open(item["payload"], context=_outbox_context(item["id"]))
                ),
                key=item["key"].encode(),
                headers=CloudEvent.structured_headers(),
            )
            for document in documents
            for item in document["outbox"]
        ]
        await asyncio.gather(*deliveries)
        OUTBOX_PUBLISHED.labels(self._collection.name).inc(len(deliveries))
        for start in range(0, len(documents), UPDATES_PER_COMMAND):
            await self._clear(documents[start : start + UPDATES_PER_COMMAND])
        return len(deliveries)

    async def _clear(self, documents: list[Document]) -> None:
        """Empties each outbox and unmarks its document only if the outbox still holds exactly
        the items published, so a document is never unmarked with items in it.

        Where fewer matched (a writer added items meanwhile, or another relay got there first),
        the published items are removed by value (the local engine's $pull ignores conditions),
        which leaves the mark and whatever was added; pulling what is gone changes nothing. The
        result counts how many matched, not which, so the whole command is pulled.
        """
        clears = [
            UpdateOne(
                {"_id": document["_id"], "outbox": document["outbox"]},
                versioned({"$set": {"outbox": [], UNPUBLISHED: False}}),
            )
            for document in documents
        ]
        cleared = await self._write(clears)
        if cleared.matched_count == len(clears):
            return
        removals = [
            UpdateOne(
                {"_id": document["_id"]}, versioned({"$pullAll": {"outbox": document["outbox"]}})
            )
            for document in documents
            if document["outbox"]
        ]
        if removals:
            await self._write(removals)

    async def _write(self, updates: list[UpdateOne]) -> BulkWriteResult:
        """A write conflict retries the whole command, which each of its updates allows: a
        clear applied before matches no more, a removal applied before changes nothing."""
        return await retry_write_conflicts(
            lambda: self._collection.bulk_write(updates, ordered=False)
        )
