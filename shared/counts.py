"""Counts of what callers did in fixed windows of time (a minute, an hour), kept where every
instance of a service sees them: request limits, sign-in codes sent, wrong look-ups."""

from __future__ import annotations

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
