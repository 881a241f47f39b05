"""Work queues as numbered slots, so taking the oldest case reads a few documents by `_id`
however many cases wait (the local engine scans on any other query).

Each queue (one per service point, stage and lane) has a head document with the next slot to look at
(`head`) and the next to fill (`tail`); each slot is its own document, `<queue>:<number>`.
Filling a slot takes its number from the head document first, so a slot may stay empty if its
writer failed (see `domain.queues.passable`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.processing.domain.queues import QueueKey, Slot
from shared.mongo import Document, insert_new, retry_write_conflicts, update_document


class MongoQueues:
    def __init__(self, queues: AsyncCollection[Document], slots: AsyncCollection[Document]) -> None:
        self._queues = queues
        self._slots = slots

    async def enqueue(self, key: QueueKey, request_id: str, at: datetime) -> None:
        number = await self._take_slot_number(key)
        await insert_new(
            self._slots, {"_id": _slot_id(key, number), "request_id": request_id, "at": at}
        )

    async def _take_slot_number(self, key: QueueKey) -> int:
        while True:
            try:
                queue = await retry_write_conflicts(
                    lambda: self._queues.find_one_and_update(
                        {"_id": key.id},
                        {"$inc": {"tail": 1, "version": 1}, "$setOnInsert": {"head": 0}},
                        upsert=True,
                        return_document=ReturnDocument.AFTER,
                    )
                )
            except DuplicateKeyError:
                continue  # two first slots of a new queue at once: the other made the queue
            if queue is None:
                raise RuntimeError(f"queue {key.id} was not made by its upsert")
            return int(queue["tail"]) - 1

    async def waiting(self, key: QueueKey, limit: int) -> list[Slot]:
        """Up to `limit` slots from the head, oldest first."""
        queue = await self._queues.find_one({"_id": key.id})
        if queue is None:
            return []
        numbers = range(int(queue["head"]), min(int(queue["tail"]), int(queue["head"]) + limit))
        found = await asyncio.gather(
            *(self._slots.find_one({"_id": _slot_id(key, number)}) for number in numbers)
        )
        return [
            Slot(
                number=number,
                request_id=None if slot is None else slot["request_id"],
                at=None if slot is None else slot["at"],
            )
            for number, slot in zip(numbers, found, strict=True)
        ]

    async def advance(self, key: QueueKey, past: int) -> None:
        """Moves the head past slot `past`, unless it is there already."""
        await update_document(
            self._queues, key.id, {"$set": {"head": past + 1}}, expected={"head": {"$lte": past}}
        )


def _slot_id(key: QueueKey, number: int) -> str:
    return f"{key.id}:{number:012d}"
