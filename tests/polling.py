"""The one way tests wait for something that happens elsewhere (a task, a thread, a process):
poll a condition rather than sleep a guessed time, so a busy machine slows a test but fails none."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar, overload

T = TypeVar("T")

TIMEOUT_S = 30.0
INTERVAL_S = 0.1


class TimedOut(AssertionError):
    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(f"timed out after {timeout_s:g} s waiting for {what}")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], bool],
    *,
    what: str,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
) -> bool: ...


async def eventually(
    probe: Callable[[], object],
    *,
    what: str,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
) -> object:
    """Polls `probe` until it returns something truthy, and returns that; fails naming `what`
    after `timeout_s`. An async probe may fetch the thing awaited, a plain one tests a condition."""
    for _ in _attempts(timeout_s):
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(interval_s)
    raise TimedOut(what, timeout_s)


def eventually_blocking(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout_s: float = TIMEOUT_S,
    interval_s: float = INTERVAL_S,
) -> T:
    """`eventually` for a plain test, whose waiting is for a thread or another process."""
    for _ in _attempts(timeout_s):
        result = probe()
        if result:
            return result
        time.sleep(interval_s)
    raise TimedOut(what, timeout_s)


def _attempts(timeout_s: float) -> Iterator[None]:
    """One turn per attempt until `timeout_s` has passed, and one more after it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() <= deadline:
        yield
    yield
