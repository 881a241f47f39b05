"""Work queues as numbered slots, so taking the oldest case reads a few documents by `_id`
however many cases wait (the local engine scans on any other query).

Each queue (one per service point, stage and lane) has a head document with the next slot to look at
(`head`) and the next to fill (`tail`), made with those of the stage's other lanes; each slot is
its own document, `<queue>:<number>`.
Cases queued at about the same time take their numbers together: one raise of `tail` by as many
as came, then one insert of all their slots, so the head document is written once per batch
rather than once per case. A slot whose number was taken may stay empty if its writer failed
(see `domain.queues.passable`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from services.processing.adapters.batching import AT_ONCE, Batching, GroupCommit
from services.processing.domain.priority import Lane
from services.processing.domain.queues import QueueKey, Slot
from shared.mongo import (
    VERSION,
    Document,
    insert_new,
    update_document,
    upsert_document,
)

Entry = tuple[QueueKey, str, datetime]


class MongoQueues:
    def __init__(
        self,
        queues: AsyncCollection[Document],
        slots: AsyncCollection[Document],
        batching: Batching = AT_ONCE,
    ) -> None:
        self._queues = queues
        self._slots = slots
        self._batches: GroupCommit[Entry, None] = GroupCommit(self._write, batching)

    async def enqueue(self, key: QueueKey, request_id: str, at: datetime) -> None:
        await self._batches.add((key, request_id, at))

    async def _write(self, entries: list[Entry]) -> list[None]:
        by_queue: dict[QueueKey, list[tuple[str, datetime]]] = defaultdict(list)
        for key, request_id, at in entries:
            by_queue[key].append((request_id, at))
        await asyncio.gather(*(self._append(key, cases) for key, cases in by_queue.items()))
        return [None] * len(entries)

    async def _append(self, key: QueueKey, cases: list[tuple[str, datetime]]) -> None:
        first = await self._take_slot_numbers(key, len(cases))
        await self._slots.insert_many(
            [
                {"_id": _slot_id(key, first + offset), VERSION: 0, "request_id": rid, "at": at}
                for offset, (rid, at) in enumerate(cases)
            ],
            ordered=False,
        )

    async def _take_slot_numbers(self, key: QueueKey, count: int) -> int:
        """The first of `count` consecutive slot numbers, taken from the queue's tail."""
        queue = await upsert_document(
            self._queues,
            key.id,
            {"$inc": {"tail": count, VERSION: 1}, "$setOnInsert": {"head": 0}},
        )
        if int(queue["tail"]) == count:
            await self._make_lanes_beside(key)
        return int(queue["tail"]) - count

    async def _make_lanes_beside(self, key: QueueKey) -> None:
        """Makes the (empty) other lanes of a new queue's stage, so that officers taking work,
        who look into every lane, find each by `_id` rather than miss it."""
        await asyncio.gather(
            *(
                insert_new(self._queues, {"_id": lane_key.id, "head": 0, "tail": 0})
                for lane in Lane
                if (lane_key := QueueKey(key.service_point, key.stage, lane)) != key
            )
        )

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
