"""Load generators: open loop at a fixed offered rate, and closed loop at the highest rate.

The open loop sends on a schedule, whatever the responses do, and times each request from its
scheduled start: a slow server then shows as latency instead of quietly lowering the load
(coordinated omission).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

MAX_REQUESTS = 100_000
CLIENTS = 4
CONNECTIONS_PER_CLIENT = 64
TIMEOUT_S = 30.0
START_DELAY_S = 0.2
LOAD_ENV = {
    "INTAKE_SUBMISSIONS_PER_MINUTE": str(10**9),
    "INTAKE_LOOKUPS_PER_MINUTE": str(10**9),
    "INTAKE_SIGN_INS_PER_MINUTE": str(10**9),
    "INTAKE_MESSAGES_PER_PHONE_DAY": str(10**9),
    "INTAKE_MESSAGES_PER_MINUTE": str(10**9),
    "NOTIFY_QUIET_HOURS": "false",
    "NOTIFY_SMS_RATE_PER_S": "1000",
    "NOTIFY_WHATSAPP_RATE_PER_S": "1000",
}
"""The load comes from one address but stands for many citizens, so intake's per-client limits
are lifted; notify sends at any hour and as fast as it can, so a run at night or above a
provider's contracted rate measures the backend, not its courtesy."""


@dataclass(frozen=True)
class Sent:
    """One open-loop request; times are seconds after the first scheduled send."""

    index: int
    scheduled_s: float
    started_s: float
    finished_s: float
    outcome: str
    """The HTTP status code, or the name of the error that kept a response from coming."""
    request_id: str | None

    @property
    def latency_s(self) -> float:
        return self.finished_s - self.scheduled_s


@dataclass(frozen=True)
class OpenLoopRun:
    started_at: float
    """Wall-clock (epoch) time of the first scheduled send, to place server timestamps."""
    rate: float
    duration_s: float
    sent: list[Sent]


def new_http_client(base_url: str, connections: int = CONNECTIONS_PER_CLIENT) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT_S, limits=limits)


async def open_loop(
    *,
    base_url: str,
    path: str,
    body: Callable[[int], dict[str, Any]],
    rate: float,
    duration_s: float,
) -> OpenLoopRun:
    """POSTs body(i) at t0 + i/rate for duration_s; a late start is still sent and counted."""
    count = min(round(rate * duration_s), MAX_REQUESTS)
    clients = [new_http_client(base_url) for _ in range(CLIENTS)]
    loop = asyncio.get_running_loop()
    t0 = loop.time() + START_DELAY_S
    started_at = time.time() + START_DELAY_S

    async def send(index: int, http: httpx.AsyncClient) -> Sent:
        scheduled = index / rate
        started = loop.time() - t0
        request_id = None
        try:
            response = await http.post(path, json=body(index))
            outcome = str(response.status_code)
            if response.status_code == 202:
                request_id = str(response.json()["request_id"])
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        return Sent(index, scheduled, started, loop.time() - t0, outcome, request_id)

    tasks: list[asyncio.Task[Sent]] = []
    try:
        for index, http in zip(range(count), itertools.cycle(clients), strict=False):
            delay = t0 + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index, http)))
        sent = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for http in clients:
            await http.aclose()
    return OpenLoopRun(started_at=started_at, rate=rate, duration_s=duration_s, sent=list(sent))


@dataclass(frozen=True)
class ClosedLoopRun:
    operations: int
    elapsed_s: float
    latencies_s: list[float]

    @property
    def per_s(self) -> float:
        return self.operations / self.elapsed_s if self.elapsed_s else 0.0


async def closed_loop(
    operation: Callable[[int], Awaitable[object]],
    *,
    concurrency: int,
    duration_s: float,
    max_operations: int = MAX_REQUESTS,
) -> ClosedLoopRun:
    """Runs operation(n) back to back in `concurrency` tasks until time or count runs out."""
    counter = itertools.count()
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + duration_s

    async def worker() -> None:
        while time.perf_counter() < deadline:
            n = next(counter)
            if n >= max_operations:
                return
            begun = time.perf_counter()
            await operation(n)
            latencies.append(time.perf_counter() - begun)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ClosedLoopRun(len(latencies), time.perf_counter() - started, latencies)
