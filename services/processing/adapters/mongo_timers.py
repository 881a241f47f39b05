"""Deadline timers in MongoDB: per minute of firing time, a chain of documents addressed by
`_id` (`<minute>#0`, `<minute>#1`, …, each holding up to about `CHUNK` timers), and a cursor with
the last minute whose timers were fired.

Firing walks the minutes from the cursor to now by `_id`, so it never queries by time (the local
engine would scan), and a processing that was down catches up on every minute it missed. Timers
set at about the same time go to their minutes' last documents together, one write per minute and
batch; a full document is followed by the next, since the local engine rewrites a whole document
on every push. Before a minute's timers are fired, its documents are closed, and one more, closed
and empty, ends the chain: a timer that comes for a closed minute is refused, and its caller fires
it, so none is kept where no one will look again.

An earlier layout kept each minute's timers in shards (`<minute>|<shard>`); `adopt_shards` moves
those still to fire into their minute's document, once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.processing.adapters.batching import AT_ONCE, Batching, GroupCommit
from services.processing.domain.deadlines import Mark, Timer, minute_of
from shared.mongo import (
    Document,
    insert_new,
    retry_write_conflicts,
    update_document,
    upsert_document,
    versioned,
)

CURSOR = "cursor"
CHUNK = 32
"""Timers a document of a minute takes before the next ones go to the minute's next document."""
OPEN: Document = {"closed": {"$ne": True}}
ROOM: Document = {**OPEN, "count": {"$lt": CHUNK}}
REMEMBERED_MINUTES = 4096
ONE_PER_MINUTE = 2
"""The cursor's `layout` once timers are kept one document per minute."""


def _minute_id(minute: datetime) -> str:
    return minute.strftime("%Y-%m-%dT%H:%M")


def _minute_of(timer: Timer) -> str:
    return _minute_id(minute_of(timer.fire_at))


def _chunk_id(minute: str, chunk: int) -> str:
    return f"{minute}#{chunk}"


class MongoTimers:
    def __init__(
        self,
        buckets: AsyncCollection[Document],
        cursors: AsyncCollection[Document],
        batching: Batching = AT_ONCE,
    ) -> None:
        self._buckets = buckets
        self._cursors = cursors
        self._batches: GroupCommit[Timer, bool] = GroupCommit(self._write, batching)
        self._filling: dict[str, int] = {}
        """The document of each minute this process last added to."""

    async def schedule(self, timer: Timer) -> bool:
        """Adds the timer to its minute's document; a timer added twice fires once anyway."""
        return await self._batches.add(timer)

    async def _write(self, timers: list[Timer]) -> list[bool]:
        by_minute: dict[str, list[Timer]] = defaultdict(list)
        for timer in timers:
            by_minute[_minute_of(timer)].append(timer)
        minutes = list(by_minute)
        still_open = await asyncio.gather(*(self._push(m, by_minute[m]) for m in minutes))
        kept = dict(zip(minutes, still_open, strict=True))
        return [kept[_minute_of(timer)] for timer in timers]

    async def _push(self, minute: str, timers: list[Timer]) -> bool:
        """Adds the timers to the minute's last document unless the minute is closed; whether it
        was open."""
        update: Document = {
            "$push": {"entries": {"$each": [_entry(timer) for timer in timers]}},
            "$inc": {"count": len(timers)},
        }
        chunk = self._filling.get(minute, 0)
        while True:
            if await self._push_into(_chunk_id(minute, chunk), update):
                self._remember(minute, chunk)
                return True
            found = await self._buckets.find_one({"_id": _chunk_id(minute, chunk)}, {"closed": 1})
            if found is not None and found.get("closed"):
                return False
            if found is not None:
                chunk += 1

    async def _push_into(self, chunk: str, update: Document) -> bool:
        """Adds to the document if it is open and has room, making it if it is not there."""
        filter_ = {"_id": chunk, **ROOM}
        try:
            await retry_write_conflicts(
                lambda: self._buckets.update_one(filter_, versioned(update), upsert=True)
            )
        except DuplicateKeyError:
            return False  # there, and closed or full
        return True

    def _remember(self, minute: str, chunk: int) -> None:
        self._filling[minute] = chunk
        if len(self._filling) > REMEMBERED_MINUTES:
            for past in sorted(self._filling)[: REMEMBERED_MINUTES // 2]:
                del self._filling[past]

    async def close(self, minute: datetime) -> list[Timer]:
        """Closes the minute to new timers and returns those it holds."""
        timers: list[Timer] = []
        chunk = 0
        while True:
            document = await self._close(_chunk_id(_minute_id(minute), chunk))
            timers += _timers(document)
            if "count" not in document:
                return timers  # made by closing it: the end of the minute's chain
            chunk += 1

    async def _close(self, chunk: str) -> Document:
        return await upsert_document(self._buckets, chunk, versioned({"$set": {"closed": True}}))

    async def adopt_shards(self) -> int:
        """Moves the timers of the sharded layout that are still to fire into their minutes'
        documents and drops the shards; once (the cursor then records the layout). Reading
        them scans the collection, which happens at start only, and only until this is done."""
        cursor = await self._cursors.find_one({"_id": CURSOR})
        if cursor is None or cursor.get("layout") == ONE_PER_MINUTE:
            return 0
        fired: datetime = cursor["minute"]
        shards = [doc async for doc in self._buckets.find({"_id": {"$regex": "[|]"}})]
        to_fire = [
            timer for doc in shards for timer in _timers(doc) if minute_of(timer.fire_at) > fired
        ]
        by_minute: dict[str, list[Timer]] = defaultdict(list)
        for timer in to_fire:
            by_minute[_minute_of(timer)].append(timer)
        await asyncio.gather(*(self._push(minute, batch) for minute, batch in by_minute.items()))
        await asyncio.gather(*(self._buckets.delete_one({"_id": doc["_id"]}) for doc in shards))
        await update_document(self._cursors, CURSOR, {"$set": {"layout": ONE_PER_MINUTE}})
        return len(to_fire)

    async def fired_until(self, start: datetime) -> datetime:
        """The last minute whose timers were all fired; made at `start` the first time."""
        cursor = await self._cursors.find_one({"_id": CURSOR})
        if cursor is None:
            await insert_new(
                self._cursors,
                {"_id": CURSOR, "minute": minute_of(start), "layout": ONE_PER_MINUTE},
            )
            cursor = await self._cursors.find_one({"_id": CURSOR})
        if cursor is None:
            raise RuntimeError("the timer cursor was not made")
        fired: datetime = cursor["minute"]
        return fired

    async def advance(self, past: datetime, to: datetime) -> None:
        """Moves the cursor from `past` to `to`, unless another instance moved it already."""
        await update_document(
            self._cursors, CURSOR, {"$set": {"minute": to}}, expected={"minute": past}
        )


def _timers(document: Document) -> list[Timer]:
    return [
        Timer(
            request_id=entry["request_id"],
            mark=Mark(entry["mark"]),
            due_at=entry["due_at"],
            fire_at=entry["fire_at"],
            disposition_id=entry.get("disposition_id"),
        )
        for entry in document.get("entries", [])
    ]


def _entry(timer: Timer) -> Document:
    return {
        "request_id": timer.request_id,
        "mark": timer.mark.value,
        "due_at": timer.due_at,
        "fire_at": timer.fire_at,
        "disposition_id": timer.disposition_id,
    }
