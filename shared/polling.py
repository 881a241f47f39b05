"""A background loop that works through what it is told about at once, and sweeps for the rest.

Writers name the document they just changed (`wake(key)`), so steady-state work is a lookup by
`_id`. A sweep at start and every `sweep_interval_s` finds whatever no one named: work left by a
crash, or retries that have come due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shared.metrics import activity
from shared.redaction import describe_error
from shared.transient import is_transient

log = logging.getLogger(__name__)


class PollingLoop:
    """Runs `handle(keys)` for woken keys and `sweep()` periodically; transient errors back off.

    Without `handle`, only the sweep runs. Any other error ends the loop, which the service's
    readiness check and watchdog then report.
    """

    def __init__(
        self,
        *,
        name: str,
        sweep: Callable[[], Awaitable[object]],
        sweep_interval_s: float,
        handle: Callable[[list[str]], Awaitable[object]] | None = None,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._name = name
        self._handle = handle
        self._sweep = sweep
        self._sweep_interval_s = sweep_interval_s
        self._max_backoff_s = max_backoff_s
        self._pending: dict[str, None] = {}
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    def wake(self, key: str) -> None:
        """Asks for the work on `key` to be done now rather than at the next sweep."""
        self._pending[key] = None
        self._wakeup.set()

    async def stop(self) -> None:
        """Finishes the work in progress and what was woken before, then stops."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        try:
            with activity(self._name):
                await self._loop()
        except Exception:
            log.exception("%s stopped on an error", self._name)
            raise

    async def _loop(self) -> None:
        clock = asyncio.get_running_loop().time
        next_sweep = clock()
        backoff = 0.0
        while True:
            self._wakeup.clear()
            try:
                await self._work(sweep=clock() >= next_sweep and not self._stopping)
                if clock() >= next_sweep:
                    next_sweep = clock() + self._sweep_interval_s
                backoff = 0.0
            except Exception as exc:
                if not is_transient(exc):
                    raise
                backoff = min(max(backoff * 2, 0.2), self._max_backoff_s)
                log.warning(
                    "%s failed, retrying in %.1f s: %s", self._name, backoff, describe_error(exc)
                )
                if self._stopping:
                    return
            if self._stopping and not self._pending:
                return
            if self._pending and not backoff:
                continue
            delay = backoff or max(next_sweep - clock(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)

    async def _work(self, *, sweep: bool) -> None:
        keys = list(self._pending)
        self._pending.clear()
        try:
            if sweep:
                await self._sweep()
            if keys and self._handle is not None:
                await self._handle(keys)
        except BaseException:
            self._pending.update(dict.fromkeys(keys))
            raise


Wake = Callable[[str], None]
"""Tells a background loop which document (by `_id`) has work for it."""
