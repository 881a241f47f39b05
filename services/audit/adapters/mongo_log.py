"""The log's entries in MongoDB: one document per entry, its `_id` the entry's leaf index.

Indexes have no gaps (each append takes the next ones, in one ordered insert), so the size of the
log is found by looking up `_id`s, and a page is a set of lookups by `_id`: the local engine
answers those from an index, where a range query or a sort would scan the whole log.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import asdict

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.audit.domain.entry import LogEntry
from shared.mongo import Document

DUPLICATE_KEY = 11000
READ_BATCH = 200


class MongoLogEntries:
    """Remembers the size it last saw, below which every index is taken: finding the size again
    costs one lookup when nothing was appended elsewhere since."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._size = 0

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("event_id", ASCENDING)], unique=True)
        await self._collection.create_index([("subject", ASCENDING), ("_id", ASCENDING)])

    async def size(self) -> int:
        self._size = await self._first_free(self._size)
        return self._size

    async def _first_free(self, known: int) -> int:
        """The first index without an entry, at or after `known` (every index below it is taken):
        doubling steps, then halving, O(log n) lookups."""
        if not await self._taken(known):
            return known
        taken, step = known, 1
        while await self._taken(taken + step):
            taken += step
            step *= 2
        free = taken + step
        while free - taken > 1:
            middle = (taken + free) // 2
            if await self._taken(middle):
                taken = middle
            else:
                free = middle
        return free

    async def _taken(self, index: int) -> bool:
        return await self._collection.find_one({"_id": index}, {"_id": 1}) is not None

    async def append(self, entries: Sequence[LogEntry]) -> int:
        if not entries:
            return 0
        try:
            documents = [_document(entry) for entry in entries]
            await self._collection.insert_many(documents, ordered=True)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            added: int = exc.details["nInserted"]
            return added
        if entries[0].index == self._size:
            self._size = entries[-1].index + 1
        return len(entries)

    async def holds(self, event_id: str) -> bool:
        return await self._collection.find_one({"event_id": event_id}, {"_id": 1}) is not None

    async def at(self, indexes: Collection[int]) -> dict[int, LogEntry]:
        documents = await asyncio.gather(
            *(self._collection.find_one({"_id": index}) for index in indexes)
        )
        return {entry.index: entry for entry in map(_entry, filter(None, documents))}

    async def entries(
        self, *, start: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[LogEntry]:
        if subject is not None:
            query = {"_id": {"$gte": start}, "subject": subject}
            cursor = self._collection.find(query, sort=[("_id", ASCENDING)], limit=limit or 0)
            async for document in cursor:
                yield _entry(document)
            return
        remaining = limit or math.inf
        while remaining > 0:
            count = int(min(READ_BATCH, remaining))
            found = await self.at(range(start, start + count))
            for index in range(start, start + count):
                if index not in found:
                    return
                yield found[index]
            start += count
            remaining -= count


def _document(entry: LogEntry) -> Document:
    document = asdict(entry)
    document["_id"] = document.pop("index")
    return document


def _entry(document: Document) -> LogEntry:
    fields = dict(document)
    fields["index"] = fields.pop("_id")
    return LogEntry(**fields)
