"""Window counts in MongoDB: one small document per (name, key, window), raised with one atomic
command, so every instance of a service counts in one place.

Each instance deletes the windows that have ended on its first count of each minute, by an
indexed end time: one command a minute at most, whatever the traffic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from shared.counts import MINUTE, window_start
from shared.mongo import VERSION, Document, upsert_document

ENDS = "until"


def counter_id(name: str, key: str, start: datetime) -> str:
    """`lookups|203.0.113.9|20260105T0931`."""
    return f"{name}|{key}|{start:%Y%m%dT%H%M}"


class MongoCounts:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self._swept: datetime | None = None

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([(ENDS, ASCENDING)])

    async def add(
        self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE, by: int = 1
    ) -> int:
        start = window_start(now, window)
        document_id = counter_id(name, key, start)
        counter = await upsert_document(
            self._collection,
            document_id,
            {"$inc": {"n": by, VERSION: 1}, "$setOnInsert": {ENDS: start + window}},
        )
        await self._sweep(now)
        return int(counter["n"])

    async def get(self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE) -> int:
        counter = await self._collection.find_one(
            {"_id": counter_id(name, key, window_start(now, window))}, {"n": True}
        )
        return 0 if counter is None else int(counter["n"])

    async def _sweep(self, now: datetime) -> None:
        minute = window_start(now, MINUTE)
        if self._swept is not None and self._swept >= minute:
            return
        self._swept = minute
        await self._collection.delete_many({ENDS: {"$lte": now}})
