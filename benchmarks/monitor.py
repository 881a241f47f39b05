"""Samples consumer lag and CPU time once a second while the load runs and the backlog drains."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from benchmarks.cpu import cpu_seconds, process_groups, stolen_seconds
from benchmarks.lag import LAST_GROUP, GroupOffsets, LagProbe
from devstack.stack import Stack

INTERVAL_S = 1.0


@dataclass(frozen=True)
class Sample:
    at: float
    """Wall-clock (epoch) time, to line samples up with requests and audit times."""
    offsets: dict[str, GroupOffsets]
    cpu_s: dict[str, float]
    stolen_s: float
    """`stolen_seconds` at the time: CPU time this machine did not get."""


class Monitor:
    """Samples until stopped; `samples` always ends with one taken at `stop`."""

    def __init__(self, stack: Stack, probe: LagProbe) -> None:
        self._groups = process_groups(stack)
        self._probe = probe
        self._task: asyncio.Task[None] | None = None
        self.samples: list[Sample] = []

    async def _sample(self) -> None:
        offsets = await self._probe.sample()
        self.samples.append(
            Sample(time.time(), offsets, cpu_seconds(self._groups), stolen_seconds())
        )

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_S)
            await self._sample()

    async def start(self) -> None:
        await self._sample()
        self._task = asyncio.create_task(self._run(), name="monitor")

    async def wait_until_drained(self, events: int, timeout_s: float) -> bool:
        """Waits until `events` more events were written since start and all of them were read.

        Watching Kafka offsets costs the stack next to nothing, unlike reading the audit log while
        it is still busy; False if timeout_s passed first.
        """
        deadline = time.monotonic() + timeout_s
        start = self.samples[0].offsets[LAST_GROUP]
        while time.monotonic() < deadline:
            if self._task is not None and self._task.done():
                self._task.result()  # raises what stopped the sampling
            latest = self.samples[-1].offsets[LAST_GROUP]
            if latest.written - start.written >= events and latest.lag == 0:
                return True
            await asyncio.sleep(INTERVAL_S / 4)
        return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._sample()
