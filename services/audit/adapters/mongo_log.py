"""The log's entries in MongoDB: one document per entry, its `_id` the entry's leaf index.

Indexes have no gaps (each append takes the next ones, in ordered inserts), so the size of the
log is found by looking up `_id`s, and a page is a set of lookups by `_id`: the local engine
answers those from an index, where a range query or a sort would scan the whole log.

One instance serves every follower of a process. It knows where the log ends from its own appends
(and its last look), and keeps the entries it appended or read lately, so a follower reads nothing
back for what this process wrote and never looks up an index beyond the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.audit.domain.entry import LogEntry
from shared.mongo import Document

DUPLICATE_KEY = 11000
ORDERED_CHUNK = 100
"""Entries per insert. FerretDB inserts an ordered batch 100 documents at a time and, after a
duplicate in one hundred, goes on with the next, reporting those too as inserted: a batch
beyond 100 that met an event logged already would leave a gap in the indexes."""
READ_BATCH = 200
RECENT_ENTRIES = 10_000


class MongoLogEntries:
    """Remembers the size it last saw, below which every index is taken: finding the size again
    costs one lookup when nothing was appended elsewhere since."""

    def __init__(
        self, collection: AsyncCollection[Document], *, recent_entries: int = RECENT_ENTRIES
    ) -> None:
        self._collection = collection
        self._size = 0
        self._recent: dict[int, LogEntry] = {}
        self._max_recent = recent_entries

    def end(self) -> int:
        return self._size

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
        added = 0
        for first in range(0, len(entries), ORDERED_CHUNK):
            chunk = entries[first : first + ORDERED_CHUNK]
            inserted = await self._insert_in_order(chunk)
            added += inserted
            if inserted < len(chunk):
                break
        self._remember(entries[:added])
        if added and entries[0].index == self._size:
            self._size = entries[added - 1].index + 1
        return added

    async def _insert_in_order(self, entries: Sequence[LogEntry]) -> int:
        """How many of `entries` were inserted, up to the first whose index or event is taken."""
        try:
            await self._collection.insert_many(map(_document, entries), ordered=True)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            return int(exc.details["nInserted"])
        return len(entries)

    async def following(self, start: int, stop: int) -> list[LogEntry]:
        """Those held in memory are not read again; the others are looked up by `_id`."""
        missing = [index for index in range(start, stop) if index not in self._recent]
        read = await self.at(missing) if missing else {}
        self._remember(read.values())
        found = []
        for index in range(start, stop):
            entry = self._recent.get(index) or read.get(index)
            if entry is None:
                break
            found.append(entry)
        return found

    def _remember(self, entries: Collection[LogEntry]) -> None:
        """Keeps the entries, forgetting the earliest kept once a tenth more than the bound is."""
        self._recent.update((entry.index, entry) for entry in entries)
        if len(self._recent) > self._max_recent * 1.1:
            for index in list(self._recent)[: len(self._recent) - self._max_recent]:
                del self._recent[index]

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
        end = await self.size()
        if limit is not None:
            end = min(end, start + limit)
        for first in range(start, end, READ_BATCH):
            indexes = range(first, min(first + READ_BATCH, end))
            found = await self.at(indexes)
            for index in indexes:
                if index not in found:
                    return
                yield found[index]


def _document(entry: LogEntry) -> Document:
    document = entry.field_values()
    document["_id"] = document.pop("index")
    return document


def _entry(document: Document) -> LogEntry:
    fields = dict(document)
    fields["index"] = fields.pop("_id")
    return LogEntry(**fields)
