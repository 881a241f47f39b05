"""Group commit: what concurrent callers hand in is written together, in one write per document.

Each caller waits until the write that holds its item is done, and gets that write's result or
error, so a handler that returns has its effect stored (its Kafka offset may then be committed)
while the engine sees one write per batch rather than one per caller. A batch is written when it
holds `max_items`, or `max_delay_s` after its first item came; batches are written one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Batching:
    """How full a batch may grow, and how long its first item waits, before it is written.
    No wait by default: a batch is then what came while the previous one was being written."""

    max_items: int = 64
    max_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.max_items < 1 or self.max_delay_s < 0:
            raise ValueError("a batch holds at least one item and waits no negative time")


AT_ONCE = Batching()


class GroupCommit(Generic[T, R]):
    def __init__(
        self, write: Callable[[list[T]], Awaitable[Sequence[R]]], batching: Batching
    ) -> None:
        self._write = write
        self._max_items = batching.max_items
        self._max_delay_s = batching.max_delay_s
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._oldest = 0.0
        self._full = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    async def add(self, item: T) -> R:
        """Hands the item in; returns once the batch holding it is written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if not self._pending:
            self._oldest = loop.time()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_items:
            self._full.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="group-commit")
        return await future

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            wait_s = self._oldest + self._max_delay_s - loop.time()
            if wait_s > 0 and len(self._pending) < self._max_items:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait_s)
            batch = self._pending[: self._max_items]
            self._pending = self._pending[self._max_items :]
            self._oldest = loop.time()
            self._full.clear()
            if len(self._pending) >= self._max_items:
                self._full.set()
            await self._settle(batch)

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
