"""The fault schedule: what is taken down when, done one after the other while the load runs,
and the message providers misbehaving alongside. Each fault's window is recorded for the chart."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from benchmarks.fault_harness.ledger import Ledger
from benchmarks.fault_harness.stack import Faults

KINDS = ("instances", "broker", "kafka", "database", "providers")
FIRST_FAULT_S = 5.0
PROVIDER_PHASE_S = 20.0
PROVIDER_FAULTS = 10
"""Messages per channel each provider phase spoils."""
PHONE_CHANNELS = ("WHATSAPP", "SMS")
CONTROL_ATTEMPTS = 10


@dataclass(frozen=True)
class Settings:
    kinds: tuple[str, ...] = KINDS
    restart_after_s: float = 5.0
    outage_s: float = 30.0
    gap_s: float = 10.0
    """Between one fault's recovery and the next fault."""
    provider_delay_s: float = 13.0
    """Longer than notify's provider timeout, so the call times out."""


@dataclass(frozen=True)
class Window:
    label: str
    start_s: float
    end_s: float


@dataclass
class Schedule:
    faults: Faults
    settings: Settings
    ledger: Ledger
    sink_url: str
    windows: list[Window] = field(default_factory=list)

    async def _window(
        self, label: str, down: Callable[[], None], up: Callable[[], None], hold_s: float
    ) -> None:
        start = self.ledger.now_s()
        await asyncio.to_thread(down)
        await asyncio.sleep(hold_s)
        await asyncio.to_thread(up)
        self.windows.append(Window(label, start, self.ledger.now_s()))
        print(f"fault  {label}: {start:.0f}-{self.ledger.now_s():.0f} s", flush=True)
        await asyncio.sleep(self.settings.gap_s)

    async def run(self) -> None:
        """Every process fault in turn, and the providers' faults alongside."""
        await asyncio.sleep(FIRST_FAULT_S)
        tasks: list[Awaitable[None]] = [self._processes()]
        if "providers" in self.settings.kinds:
            tasks.append(self._providers())
        await asyncio.gather(*tasks)

    async def _processes(self) -> None:
        s, f = self.settings, self.faults
        if "instances" in s.kinds:
            for instance in f.every_instance():
                await self._window(
                    f"kill -9 {instance.name}",
                    lambda i=instance: f.kill_instance(i),  # type: ignore[misc]
                    lambda i=instance: f.restart_instance(i),  # type: ignore[misc]
                    s.restart_after_s,
                )
        if "broker" in s.kinds:
            await self._window(
                "kill -9 broker 1",
                lambda: f.kill_broker(1),
                lambda: f.restart_broker(1),
                s.restart_after_s,
            )
        if "kafka" in s.kinds:
            await self._window("Kafka down", f.stop_kafka, f.start_kafka, s.outage_s)
        if "database" in s.kinds:
            await self._window("database SIGSTOP", f.pause_database, f.resume_database, s.outage_s)

    async def _providers(self) -> None:
        """Timeouts, then 500s, then 429 with Retry-After on both phone channels; then none."""
        phases: list[tuple[str, dict[str, object]]] = [
            ("providers time out", {"kind": "delay", "delay_s": self.settings.provider_delay_s}),
            ("providers answer 500", {"kind": "fail", "status": 500}),
            ("providers answer 429", {"kind": "fail", "status": 429, "retry_after": "3"}),
        ]
        async with httpx.AsyncClient(base_url=self.sink_url, timeout=10) as sink:
            for label, fault in phases:
                start = self.ledger.now_s()
                for channel in PHONE_CHANNELS:
                    body = {"channel": channel, "count": PROVIDER_FAULTS, **fault}
                    await _persist(functools.partial(sink.post, "/v1/faults", json=body))
                await asyncio.sleep(PROVIDER_PHASE_S)
                await _persist(lambda: sink.delete("/v1/faults"))
                self.windows.append(Window(label, start, self.ledger.now_s()))
                print(f"fault  {label}: {start:.0f}-{self.ledger.now_s():.0f} s", flush=True)


async def _persist(call: Callable[[], Awaitable[httpx.Response]]) -> None:
    """A call to the message sink, tried again while it does not answer: on a loaded machine it
    may not take a connection for seconds, and a fault left in place would spoil the run."""
    for attempt in range(CONTROL_ATTEMPTS):
        try:
            (await call()).raise_for_status()
            return
        except httpx.TransportError:
            if attempt == CONTROL_ATTEMPTS - 1:
                raise
            await asyncio.sleep(2)
