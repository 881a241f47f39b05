"""Concurrency that keeps order where it matters: per key, and in what may be committed.

Pure asyncio and bookkeeping, no Kafka: the consumer loop in `shared.kafka_consumer` builds on
these.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class PartitionProgress:
    """The offsets taken from one partition, and how far it may be committed.

    Events finish out of order; the committable position is the first offset not yet finished,
    so a commit never passes an event that was not handled.
    """

    def __init__(self) -> None:
        self._open: deque[int] = deque()
        self._finished: set[int] = set()
        self._next: int | None = None

    def take(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise ValueError(f"offset {offset} taken after {self._next - 1}")
        self._open.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        self._finished.add(offset)
        while self._open and self._open[0] in self._finished:
            self._finished.discard(self._open.popleft())

    @property
    def committable(self) -> int | None:
        """The offset to commit (the next one to read after a restart), or None if nothing taken."""
        if self._open:
            return self._open[0]
        return self._next

    @property
    def open(self) -> int:
        return len(self._open)


class CommitTracker(Generic[P]):
    """Progress of every partition, and which positions moved since the last commit."""

    def __init__(self) -> None:
        self._partitions: dict[P, PartitionProgress] = {}
        self._committed: dict[P, int] = {}

    def take(self, partition: P, offset: int) -> None:
        self._partitions.setdefault(partition, PartitionProgress()).take(offset)

    def finish(self, partition: P, offset: int) -> None:
        self._partitions[partition].finish(offset)

    def uncommitted(self) -> dict[P, int]:
        """Positions that moved since `committed` was last told about them."""
        moved = {}
        for partition, progress in self._partitions.items():
            position = progress.committable
            if position is not None and self._committed.get(partition) != position:
                moved[partition] = position
        return moved

    def committed(self, positions: dict[P, int]) -> None:
        self._committed.update(positions)

    def forget(self, partitions: set[P]) -> int:
        """Drops partitions this consumer no longer owns; returns how many of their events
        taken were not finished."""
        unfinished = 0
        for partition in partitions:
            if (progress := self._partitions.pop(partition, None)) is not None:
                unfinished += progress.open
            self._committed.pop(partition, None)
        return unfinished

    @property
    def open(self) -> int:
        return sum(progress.open for progress in self._partitions.values())


Job = Callable[[], Awaitable[bool]]
"""Work for one event; returns False when it gave up without finishing (the service stops)."""


class KeyedRunner:
    """Runs jobs concurrently across keys, at most `limit` at once, and strictly in order per key.

    A job whose predecessor gave up gives up too without running, so a key's events are never
    handled out of order.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tails: dict[Hashable, asyncio.Task[bool]] = {}
        self._tasks: set[asyncio.Task[bool]] = set()

    def submit(self, key: Hashable, job: Job) -> asyncio.Task[bool]:
        previous = self._tails.get(key)
        task = asyncio.create_task(self._run(previous, job))
        self._tails[key] = task
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(key, done))
        return task

    def has_successor(self, key: Hashable) -> bool:
        """Asked from a running job: whether a later job of its key waits behind it."""
        return self._tails.get(key) is not asyncio.current_task()

    def _finished(self, key: Hashable, task: asyncio.Task[bool]) -> None:
        self._tasks.discard(task)
        if self._tails.get(key) is task:
            del self._tails[key]

    async def _run(self, previous: asyncio.Task[bool] | None, job: Job) -> bool:
        if previous is not None:
            await asyncio.wait([previous])
            if previous.cancelled() or previous.exception() is not None or not previous.result():
                return False
        async with self._slots:
            return await job()

    async def drain(self) -> None:
        """Waits until every submitted job has finished or given up."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    @property
    def pending(self) -> int:
        return len(self._tasks)
