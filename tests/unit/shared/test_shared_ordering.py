from __future__ import annotations

import asyncio

import pytest

from shared.ordering import CommitTracker, KeyedRunner, PartitionProgress


def test_a_partition_commits_up_to_its_first_unfinished_offset() -> None:
    progress = PartitionProgress()
    for offset in (10, 11, 12, 13):
        progress.take(offset)

    assert progress.committable == 10
    progress.finish(12)
    progress.finish(11)
    assert progress.committable == 10
    progress.finish(10)
    assert progress.committable == 13
    progress.finish(13)
    assert progress.committable == 14
    assert progress.open == 0


def test_a_partition_with_nothing_taken_has_nothing_to_commit() -> None:
    assert PartitionProgress().committable is None


def test_offsets_are_taken_in_order_only() -> None:
    progress = PartitionProgress()
    progress.take(5)

    with pytest.raises(ValueError, match="taken after"):
        progress.take(4)


def test_the_tracker_reports_only_positions_that_moved_since_the_last_commit() -> None:
    tracker: CommitTracker[str] = CommitTracker()
    tracker.take("p0", 0)
    tracker.take("p0", 1)
    tracker.take("p1", 7)

    assert tracker.uncommitted() == {"p0": 0, "p1": 7}
    tracker.committed({"p0": 0, "p1": 7})
    assert tracker.uncommitted() == {}

    tracker.finish("p0", 1)
    assert tracker.uncommitted() == {}
    tracker.finish("p0", 0)
    assert tracker.uncommitted() == {"p0": 2}
    assert tracker.open == 1

    assert tracker.forget({"p1", "p2"}) == 1
    assert tracker.open == 0


async def test_jobs_of_one_key_run_in_order_while_other_keys_pass_a_blocked_one() -> None:
    runner = KeyedRunner(limit=4)
    log: list[str] = []
    release = asyncio.Event()

    def job(name: str, *, blocked: bool = False) -> asyncio.Task[bool]:
        async def run() -> bool:
            log.append(f"start {name}")
            if blocked:
                await release.wait()
            log.append(f"end {name}")
            return True

        return runner.submit(name[0], run)

    a1 = job("a1", blocked=True)
    a2 = job("a2")
    b1 = job("b1")
    c1 = job("c1")
    await asyncio.wait_for(asyncio.gather(b1, c1), 1)

    assert "start a2" not in log
    assert not a1.done()
    release.set()
    await runner.drain()
    assert log.index("end a1") < log.index("start a2")
    assert a2.result() is True


async def test_no_more_than_the_limit_run_at_once() -> None:
    runner = KeyedRunner(limit=3)
    running = 0
    most = 0

    async def run() -> bool:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return True

    for key in range(10):
        runner.submit(key, run)
    await runner.drain()

    assert most == 3
    assert runner.pending == 0


async def test_a_job_whose_predecessor_gave_up_gives_up_without_running() -> None:
    runner = KeyedRunner(limit=2)
    ran: list[str] = []

    async def gives_up() -> bool:
        ran.append("first")
        return False

    async def second() -> bool:
        ran.append("second")
        return True

    first = runner.submit("k", gives_up)
    after = runner.submit("k", second)
    await runner.drain()

    assert ran == ["first"]
    assert first.result() is False
    assert after.result() is False


async def test_a_job_knows_whether_a_later_job_of_its_key_waits_behind_it() -> None:
    runner = KeyedRunner(limit=4)
    started = asyncio.Event()
    release = asyncio.Event()
    seen: dict[str, bool] = {}

    async def first() -> bool:
        started.set()
        await release.wait()
        seen["first"] = runner.has_successor("a")
        return True

    async def last() -> bool:
        seen["last"] = runner.has_successor("a")
        return True

    async def other() -> bool:
        seen["other"] = runner.has_successor("b")
        return True

    runner.submit("a", first)
    await started.wait()
    runner.submit("a", last)
    runner.submit("b", other)
    release.set()
    await runner.drain()

    assert seen == {"first": True, "last": False, "other": False}
