from __future__ import annotations

import asyncio

from shared.runtime import running


class FakeWorker:
    def __init__(self, name: str, journal: list[str]) -> None:
        self.name = name
        self.journal = journal
        self.alive = False

    async def start(self) -> None:
        self.alive = True
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        self.alive = False
        self.journal.append(f"stop {self.name}")

    @property
    def running(self) -> bool:
        return self.alive


async def test_workers_start_in_order_and_stop_in_reverse() -> None:
    journal: list[str] = []
    workers = {"relay": FakeWorker("relay", journal), "consumer": FakeWorker("consumer", journal)}

    async with running(workers, on_worker_death=lambda: journal.append("death")) as checks:
        assert [await check() for check in checks.values()] == [True, True]

    assert journal == ["start relay", "start consumer", "stop consumer", "stop relay"]


async def test_a_worker_that_dies_shuts_the_service_down_and_fails_readiness() -> None:
    journal: list[str] = []
    relay = FakeWorker("relay", journal)
    deaths: list[str] = []

    async with running(
        {"relay": relay}, on_worker_death=lambda: deaths.append("death"), watch_interval_s=0.01
    ) as checks:
        await asyncio.sleep(0.05)
        assert deaths == []
        relay.alive = False
        await asyncio.sleep(0.05)
        assert not await checks["relay"]()

    assert deaths == ["death"]
