"""Which request each idempotency key stands for: one small document per key, keyed by its hash."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo import Document, insert_new


class MongoIdempotencyKeys:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        """Inserts the key's document if absent, else reads it: `_id` makes one insert win.

        Keys are never removed, so a refused insert finds the document; the loop only covers
        one removed in between.
        """
        while True:
            document = {"_id": key_hash, "request_id": request_id, "claimed_at": now}
            if await insert_new(self._collection, document):
                return request_id
            existing = await self._collection.find_one({"_id": key_hash}, {"request_id": 1})
            if existing is not None:
                claimed: str = existing["request_id"]
                return claimed
