"""Group commit: concurrent callers share one write, each returns once its item is written, and
a failed write fails every caller in it (so each handler is retried)."""

from __future__ import annotations

import asyncio

import pytest

from services.processing.adapters.batching import Batching, GroupCommit


class Writes:
    def __init__(self, *, fail_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail_first = fail_first

    async def __call__(self, items: list[int]) -> list[int]:
        await asyncio.sleep(0)
        self.batches.append(items)
        if self.fail_first:
            self.fail_first = False
            raise ConnectionError("the engine went away")
        return [item * 10 for item in items]


async def test_items_handed_in_together_are_written_together_and_each_gets_its_result() -> None:
    writes = Writes()
    batches = GroupCommit(writes, Batching(max_items=10, max_delay_s=5))

    results = await asyncio.gather(*(batches.add(n) for n in range(10)))

    assert results == [n * 10 for n in range(10)]
    assert writes.batches == [list(range(10))]


async def test_a_full_batch_is_written_at_once_and_the_rest_after_the_delay() -> None:
    writes = Writes()
    batches = GroupCommit(writes, Batching(max_items=3, max_delay_s=0.05))

    await asyncio.gather(*(batches.add(n) for n in range(5)))

    assert writes.batches == [[0, 1, 2], [3, 4]]


async def test_without_a_delay_a_batch_is_what_came_while_the_last_was_written() -> None:
    writes = Writes()
    batches = GroupCommit(writes, Batching())

    first = asyncio.create_task(batches.add(1))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(batches.add(n)) for n in (2, 3)]
    await asyncio.gather(first, *rest)

    assert writes.batches == [[1], [2, 3]]


async def test_a_failed_write_fails_every_caller_in_it_and_the_next_batch_is_written() -> None:
    writes = Writes(fail_first=True)
    batches = GroupCommit(writes, Batching(max_items=2, max_delay_s=5))

    failed = await asyncio.gather(batches.add(1), batches.add(2), return_exceptions=True)
    again = await asyncio.gather(batches.add(1), batches.add(2))

    assert [type(result) for result in failed] == [ConnectionError, ConnectionError]
    assert list(again) == [10, 20]


def test_a_batch_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Batching(max_items=0)
