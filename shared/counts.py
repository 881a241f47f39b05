"""Counts of what callers did in fixed windows of time (a minute, an hour), kept where every
instance of a service sees them: request limits, sign-in codes sent, wrong look-ups."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

MINUTE: Final = timedelta(minutes=1)
HOUR: Final = timedelta(hours=1)


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the window holding `now`; windows are aligned to the Unix epoch."""
    size = int(window.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // size * size, UTC)


def seconds_left(now: datetime, window: timedelta) -> int:
    """Whole seconds until the window holding `now` ends, at least one."""
    end = window_start(now, window) + window
    return max(1, int(-(-(end - now).total_seconds() // 1)))


class Counts(Protocol):
    async def add(
        self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE, by: int = 1
    ) -> int:
        """Adds `by` to `key`'s count under `name` in the window holding `now` and returns that
        window's count, this addition included. A name keeps one window size."""
        ...

    async def get(self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE) -> int:
        """`key`'s count under `name` in the window holding `now`, without adding to it."""
        ...


class SharedAllowance:
    """A cap per window shared by every instance, taken from the database in blocks.

    Each instance reserves `block` units at a time with one `Counts.add`, then hands them out
    from memory, so most takes cost no database operation. Units an instance reserved but did not
    use are lost with its window: the cap errs on the safe side by at most `block` per instance.
    Once the window's cap is spent, the instance asks no more until the next window. Takes that
    arrive while a block is being reserved wait for it rather than each reserving one of their
    own, which would cost an operation each and lose all but the last block.
    """

    def __init__(
        self, counts: Counts, name: str, *, limit: int, window: timedelta = MINUTE, block: int = 10
    ) -> None:
        self._counts = counts
        self._name = name
        self._limit = limit
        self._window = window
        self._block = max(1, min(block, limit))
        self._current: datetime | None = None
        self._left = 0
        self._spent = False
        self._reserving = asyncio.Lock()

    async def take(self, now: datetime) -> bool:
        """True if one more unit fits in the window holding `now`."""
        async with self._reserving:
            start = window_start(now, self._window)
            if start != self._current:
                self._current, self._left, self._spent = start, 0, False
            if self._left == 0 and not self._spent:
                reserved = await self._counts.add(
                    self._name, "all", now=now, window=self._window, by=self._block
                )
                self._left = max(0, min(self._block, self._limit - (reserved - self._block)))
                self._spent = reserved >= self._limit
            if self._left == 0:
                return False
            self._left -= 1
            return True
