"""How much engine work a service process lets in from HTTP, so that overload is refused at once
instead of piling up inside the database engine.

The local engine (FerretDB over PostgreSQL) runs an operation to its end even after the client
gave up on it, and an operation may hold one PostgreSQL connection while it waits for another:
work that piles up beyond its connection pool deadlocks it for good. So a process admits at most
`limit` requests at once and answers the rest 503 with Retry-After straight away; and once an
operation timed out (the engine still holds it), it admits nothing more until the engine answers
a ping again, so that work abandoned by clients cannot grow while the engine is stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.metrics import ADMISSION_REFUSED, activity

log = logging.getLogger(__name__)

Ping = Callable[[], Awaitable[bool]]


class EngineGate:
    """Counts the requests doing engine work and knows whether the engine is stalled."""

    def __init__(self, limit: int, *, probe_interval_s: float = 0.5) -> None:
        self.limit = limit
        self.in_flight = 0
        self._probe_interval_s = probe_interval_s
        self._ping: Ping | None = None
        self._probe: asyncio.Task[None] | None = None

    @property
    def stalled(self) -> bool:
        return self._probe is not None and not self._probe.done()

    def watch_with(self, ping: Ping) -> None:
        """Gives the gate the ping that tells when a stalled engine answers again."""
        self._ping = ping

    def try_enter(self, *, counted: bool = True) -> bool:
        if self.stalled or (counted and self.in_flight >= self.limit):
            return False
        if counted:
            self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def timed_out(self) -> None:
        """An operation timed out: admits nothing until the engine answers a ping."""
        if self.stalled or self._ping is None:
            return
        log.warning("the database did not answer in time: refusing new work until it does")
        # A fresh context: not the failed request's, whose database deadline has passed.
        self._probe = asyncio.create_task(
            self._until_answered(self._ping), context=contextvars.Context()
        )

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe

    async def _until_answered(self, ping: Ping) -> None:
        """Pings the engine until it answers: nothing else can tell when it does."""
        with activity("engine-probe"):
            while True:
                if await ping():
                    break
                await asyncio.sleep(self._probe_interval_s)
        log.info("the database answers again: admitting work")


class EngineAdmission:
    """Refuses a request with 503 and Retry-After at once when the gate is full or the engine is
    stalled. Probes pass; long routes (streams, exports, uploads) are not counted against the
    limit, since they hold a request open while doing little engine work, but are refused while
    the engine is stalled."""

    def __init__(
        self,
        app: ASGIApp,
        gate: EngineGate,
        *,
        passing: Collection[str],
        uncounted: Callable[[str], bool],
        refusal: Callable[[], ASGIApp],
    ) -> None:
        self.app = app
        self.gate = gate
        self.passing = frozenset(passing)
        self.uncounted = uncounted
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.passing:
            await self.app(scope, receive, send)
            return
        counted = not self.uncounted(path)
        if not self.gate.try_enter(counted=counted):
            ADMISSION_REFUSED.labels("stalled" if self.gate.stalled else "full").inc()
            await self.refusal()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                self.gate.leave()
