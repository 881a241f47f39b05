"""Children of devstack end with the process that started them, however it ends, and a stop of
many hung children takes one deadline, not one each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from devstack.paths import REPO_ROOT
from devstack.process import LIFELINE_GRACE_S, ManagedProcess, stop_all
from tests.polling import eventually_blocking

IGNORES_SIGTERM = (
    "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "subprocess.Popen(['sleep', '60'], start_new_session=True); "
    "print('ready', flush=True); time.sleep(60)"
)
"""A child that must be killed, with a grandchild in a session of its own."""


def parent(tmp_path: Path, *, then: str) -> tuple[subprocess.Popen[str], list[int]]:
    """A process that starts a polite child and a stubborn one, prints the pids of all it
    started (the watchdog too), then does `then`."""
    script = textwrap.dedent(f"""
        import os, sys, time
        from pathlib import Path
        from devstack.process import ManagedProcess, descendants
        polite = ManagedProcess("polite", ["sleep", "60"], log_path=Path("{tmp_path}/polite.log"))
        stubborn = ManagedProcess(
            "stubborn", [sys.executable, "-c", {IGNORES_SIGTERM!r}],
            log_path=Path("{tmp_path}/stubborn.log"),
        )
        polite.start()
        stubborn.start()
        stubborn.wait_until(
            lambda: "ready" in Path("{tmp_path}/stubborn.log").read_text(), timeout=10, what="start"
        )
        print(*descendants(os.getpid()), flush=True)
        {then}
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    pids = [int(pid) for pid in process.stdout.readline().split()]
    assert len(pids) == 4, pids
    return process, pids


def says_ready(log: Path) -> Callable[[], bool]:
    return lambda: "ready" in log.read_text()


def running(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def test_a_killed_parents_children_are_stopped_then_killed(tmp_path: Path) -> None:
    process, pids = parent(tmp_path, then="time.sleep(60)")
    try:
        process.kill()
        process.wait()
        killed_at = time.monotonic()

        eventually_blocking(
            lambda: not running(pids), what="the children gone", timeout_s=LIFELINE_GRACE_S + 5
        )
        assert time.monotonic() - killed_at > LIFELINE_GRACE_S - 1
    finally:
        for pid in running(pids):
            os.kill(pid, signal.SIGKILL)


def test_a_parent_that_exits_leaves_nothing_behind(tmp_path: Path) -> None:
    process, pids = parent(tmp_path, then="pass")
    try:
        assert process.wait(timeout=LIFELINE_GRACE_S + 5) == 0
        assert not running(pids)
    finally:
        for pid in running(pids):
            os.kill(pid, signal.SIGKILL)


def test_hung_processes_share_one_deadline(tmp_path: Path) -> None:
    processes = [
        ManagedProcess(
            f"stubborn {index}",
            [sys.executable, "-c", IGNORES_SIGTERM],
            log_path=tmp_path / f"stubborn{index}.log",
        )
        for index in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.wait_until(says_ready(process.log_path), timeout=10, what="start")

    started = time.monotonic()
    stop_all(processes, deadline=started + 1)

    assert time.monotonic() - started < 2
    assert [process.returncode for process in processes] == [-9, -9, -9]
