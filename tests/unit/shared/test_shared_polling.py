from __future__ import annotations

from pymongo.errors import AutoReconnect

from shared.polling import PollingLoop
from tests.polling import eventually


class Journal:
    def __init__(self) -> None:
        self.handled: list[list[str]] = []
        self.sweeps = 0
        self.failures_left = 0

    async def handle(self, keys: list[str]) -> None:
        if self.failures_left:
            self.failures_left -= 1
            raise AutoReconnect("database away")
        self.handled.append(keys)

    async def sweep(self) -> None:
        self.sweeps += 1


def loop_for(journal: Journal, sweep_interval_s: float = 60.0) -> PollingLoop:
    return PollingLoop(
        name="test",
        handle=journal.handle,
        sweep=journal.sweep,
        sweep_interval_s=sweep_interval_s,
        max_backoff_s=0.05,
    )


async def test_it_sweeps_at_start_then_handles_woken_keys_once_each() -> None:
    journal = Journal()
    loop = loop_for(journal)
    await loop.start()
    await eventually(lambda: journal.sweeps == 1, what="the sweep at start")
    loop.wake("a")
    loop.wake("b")
    loop.wake("a")
    await eventually(lambda: journal.handled != [], what="the woken keys handled")
    await loop.stop()

    assert journal.sweeps == 1
    assert [key for keys in journal.handled for key in keys] == ["a", "b"]


async def test_it_sweeps_again_after_the_interval() -> None:
    journal = Journal()
    loop = loop_for(journal, sweep_interval_s=0.02)
    await loop.start()
    await eventually(lambda: journal.sweeps >= 3, what="three sweeps", timeout_s=5)
    await loop.stop()


async def test_keys_that_failed_transiently_are_retried() -> None:
    journal = Journal()
    journal.failures_left = 2
    loop = loop_for(journal)
    await loop.start()
    loop.wake("a")
    await eventually(lambda: journal.handled != [], what="the key handled at last")
    await loop.stop()

    assert journal.handled == [["a"]]
    assert loop.running is False


async def test_stop_handles_what_was_woken_before() -> None:
    journal = Journal()
    loop = loop_for(journal)
    await loop.start()
    await eventually(lambda: journal.sweeps == 1, what="the sweep at start")
    loop.wake("last")
    await loop.stop()

    assert journal.handled == [["last"]]


async def test_an_unexpected_error_ends_the_loop() -> None:
    async def broken(keys: list[str]) -> None:
        raise RuntimeError("bug")

    journal = Journal()
    loop = PollingLoop(name="test", handle=broken, sweep=journal.sweep, sweep_interval_s=60)
    await loop.start()
    loop.wake("a")

    await eventually(lambda: not loop.running, what="the loop ended")
    await loop.stop()
