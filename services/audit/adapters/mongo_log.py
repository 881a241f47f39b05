"""The audit log in MongoDB: one document per entry, keyed by its sequence number."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.audit.domain.chain import AuditEntry
from shared.mongo import Document

DUPLICATE_KEY = 11000
READ_BATCH = 200


class MongoAuditLog:
    """Keeps the head in memory: the log has one writer, and a stale head only costs a conflict."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._head: AuditEntry | None = None
        self._head_loaded = False

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("event_id", ASCENDING)], unique=True)
        await self._collection.create_index([("subject", ASCENDING), ("_id", ASCENDING)])

    async def head(self) -> AuditEntry | None:
        if not self._head_loaded:
            document = await self._collection.find_one({}, sort=[("_id", DESCENDING)])
            self._head = None if document is None else _entry(document)
            self._head_loaded = True
        return self._head

    async def contains(self, event_id: str) -> bool:
        return await self._collection.find_one({"event_id": event_id}, {"_id": 1}) is not None

    async def append(self, entries: Sequence[AuditEntry]) -> int:
        if not entries:
            return 0
        documents = []
        for entry in entries:
            document = asdict(entry)
            document["_id"] = document.pop("sequence")
            documents.append(document)
        try:
            await self._collection.insert_many(documents, ordered=True)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            self._head_loaded = False
            added: int = exc.details["nInserted"]
            return added
        if self._head is None or entries[-1].sequence > self._head.sequence:
            self._head = entries[-1]
        return len(entries)

    async def entries(
        self, *, after_sequence: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[AuditEntry]:
        if subject is not None:
            query = {"_id": {"$gt": after_sequence}, "subject": subject}
            cursor = self._collection.find(query, sort=[("_id", ASCENDING)], limit=limit or 0)
            async for document in cursor:
                yield _entry(document)
            return
        # Sequence numbers have no gaps, so a page is a set of lookups by _id, which every engine
        # answers from an index; a range query would scan the whole log on the local engine.
        sequence = after_sequence + 1
        remaining = limit or math.inf
        while remaining > 0:
            count = int(min(READ_BATCH, remaining))
            documents = await asyncio.gather(
                *(self._collection.find_one({"_id": n}) for n in range(sequence, sequence + count))
            )
            for found in documents:
                if found is None:
                    return
                yield _entry(found)
            sequence += count
            remaining -= count


def _entry(document: Document) -> AuditEntry:
    fields = dict(document)
    fields["sequence"] = fields.pop("_id")
    return AuditEntry(**fields)
