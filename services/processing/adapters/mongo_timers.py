"""Deadline timers in MongoDB: one document per minute of firing time, addressed by `_id`, and a
cursor with the last minute whose timers were fired.

Firing walks the minutes from the cursor to now by `_id`, so it never queries by time (the local
engine would scan), and a processing that was down catches up on every minute it missed.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.processing.domain.deadlines import Mark, Timer, minute_of
from shared.mongo import Document, insert_new, retry_write_conflicts, update_document

CURSOR = "cursor"


def _bucket_id(minute: datetime) -> str:
    return minute.strftime("%Y-%m-%dT%H:%M")


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
        }
        bucket = _bucket_id(minute_of(timer.fire_at))
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
        document = await self._buckets.find_one({"_id": _bucket_id(minute)})
        if document is None:
            return []
        return [
            Timer(
                request_id=entry["request_id"],
                mark=Mark(entry["mark"]),
                due_at=entry["due_at"],
                fire_at=entry["fire_at"],
            )
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
