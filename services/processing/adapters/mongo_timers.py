"""Deadline timers in MongoDB: per minute of firing time, a few documents addressed by `_id`
(`<minute>|<shard>`, the shard from the request id), and a cursor with the last minute whose
timers were fired.

Firing walks the minutes from the cursor to now by `_id`, so it never queries by time (the local
engine would scan), and a processing that was down catches up on every minute it missed. The
shards keep each document small and rarely written by two requests at once: the local engine
rewrites a whole document on every push.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.processing.domain.deadlines import Mark, Timer, minute_of
from shared.mongo import Document, insert_new, retry_write_conflicts, update_document

CURSOR = "cursor"
SHARDS = 16


def _bucket_id(minute: datetime, shard: int) -> str:
    return f"{minute.strftime('%Y-%m-%dT%H:%M')}|{shard}"


def _shard_of(request_id: str) -> int:
    return int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) % SHARDS


class MongoTimers:
    def __init__(
        self, buckets: AsyncCollection[Document], cursors: AsyncCollection[Document]
    ) -> None:
        self._buckets = buckets
        self._cursors = cursors

    async def schedule(self, timer: Timer) -> None:
        """Adds the timer to its minute's document; a timer added twice fires once anyway."""
        entry = {
            "request_id": timer.request_id,
            "mark": timer.mark.value,
            "due_at": timer.due_at,
            "fire_at": timer.fire_at,
            "disposition_id": timer.disposition_id,
        }
        bucket = _bucket_id(minute_of(timer.fire_at), _shard_of(timer.request_id))
        while True:
            try:
                await retry_write_conflicts(
                    lambda: self._buckets.update_one(
                        {"_id": bucket},
                        {"$push": {"entries": entry}, "$inc": {"version": 1}},
                        upsert=True,
                    )
                )
                return
            except DuplicateKeyError:
                continue  # another first timer of the minute made the document

    async def in_minute(self, minute: datetime) -> list[Timer]:
        documents = await asyncio.gather(
            *(self._buckets.find_one({"_id": _bucket_id(minute, shard)}) for shard in range(SHARDS))
        )
        return [
            Timer(
                request_id=entry["request_id"],
                mark=Mark(entry["mark"]),
                due_at=entry["due_at"],
                fire_at=entry["fire_at"],
                disposition_id=entry.get("disposition_id"),
            )
            for document in documents
            if document is not None
            for entry in document["entries"]
        ]

    async def fired_until(self, start: datetime) -> datetime:
        """The last minute whose timers were all fired; made at `start` the first time."""
        await insert_new(self._cursors, {"_id": CURSOR, "minute": minute_of(start)})
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
