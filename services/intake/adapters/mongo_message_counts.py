"""How many messages of a kind the office sent each minute: one small counter document per kind
and minute, raised with one atomic command, so every instance of intake counts in one place.

The first count of a minute also deletes that kind's counters older than an hour, so the
collection stays a few dozen documents, at one more command a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.mongo import VERSION, Document, retry_write_conflicts

KEPT = timedelta(hours=1)


def _counter_id(kind: str, minute: datetime) -> str:
    """`sign_in_code:20260105T0931`: ids of one kind sort by minute."""
    return f"{kind}:{minute:%Y%m%dT%H%M}"


class MongoMessageCounts:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def add(self, kind: str, *, now: datetime) -> int:
        minute = now.replace(second=0, microsecond=0)
        counter_id = _counter_id(kind, minute)
        while True:
            try:
                counter = await retry_write_conflicts(
                    lambda: self._collection.find_one_and_update(
                        {"_id": counter_id},
                        {"$inc": {"count": 1, VERSION: 1}, "$setOnInsert": {"minute": minute}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                )
            except DuplicateKeyError:
                continue  # another instance made the minute's counter first
            if counter is None:
                raise RuntimeError(f"counter {counter_id} was not made by its upsert")
            count = int(counter["count"])
            if count == 1:
                await self._collection.delete_many(
                    {"_id": {"$gte": f"{kind}:", "$lt": _counter_id(kind, minute - KEPT)}}
                )
            return count
