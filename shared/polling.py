"""A background loop that does its work when woken and at least every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shared.kafka import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


class PollingLoop:
    """Runs `step` when woken and every `interval_s`; transient errors back off and retry.

    Any other error ends the loop, which the service's readiness check then reports.
    """

    def __init__(
        self,
        *,
        name: str,
        step: Callable[[], Awaitable[object]],
        interval_s: float = 1.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._name = name
        self._step = step
        self._interval_s = interval_s
        self._max_backoff_s = max_backoff_s
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    def wake(self) -> None:
        """Asks for a step now rather than at the next interval."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Finishes the step in progress and one last step, then stops."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        delay = self._interval_s
        while True:
            self._wakeup.clear()
            try:
                await self._step()
                delay = self._interval_s
            except TRANSIENT_ERRORS as exc:
                log.warning("%s failed, will retry: %r", self._name, exc)
                delay = min(delay * 2, self._max_backoff_s)
            except Exception:
                log.exception("%s stopped on an error", self._name)
                raise
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), delay)
