"""Child processes that are started in their own session, waited for and always stopped.

Every child is also held by a lifeline: a watchdog process that stops the children if the process
that started them dies without stopping them, even by SIGKILL.
"""

from __future__ import annotations

import atexit
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

LIFELINE_GRACE_S = 5.0
"""How long the watchdog lets orphaned children stop on their stop signal before killing them."""


class StartupError(RuntimeError):
    """A local engine or service could not be provisioned or did not become ready."""


@dataclass(frozen=True)
class Account:
    """A system user to run a child as, for servers that refuse to run as root."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...] = ()


def free_port() -> int:
    """Returns a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Tells whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run_checked(
    cmd: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    account: Account | None = None,
    what: str,
) -> None:
    """Runs a provisioning command and turns its failure into a readable StartupError."""
    result = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        user=None if account is None else account.uid,
        group=None if account is None else account.gid,
        extra_groups=None if account is None else list(account.groups),
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-25:]
        raise StartupError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(output))


def _process_table() -> list[tuple[int, int, int]]:
    """(pid, parent, process group) of every live process, from /proc; zombies are left out,
    since they have ended and only wait to be reaped."""
    table = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z":
            table.append((int(stat.parent.name), int(parent), int(group)))
    return table


def descendants(pid: int) -> list[int]:
    """The processes below `pid` (none where there is no /proc).

    Some leave their parent's process group: PostgreSQL's backends each start a session."""
    children: dict[int, list[int]] = {}
    for child, parent, _ in _process_table():
        children.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def kill_tree(pgid: int) -> None:
    """SIGKILLs the process group led by `pgid` and every process its leader started."""
    for pid in descendants(pgid):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def running_groups(pgids: Iterable[int]) -> set[int]:
    """Those of the process groups in which a process still runs."""
    pgids = set(pgids)
    if Path("/proc/self/stat").is_file():
        return pgids & {group for _, _, group in _process_table()}
    running = set()
    for pgid in pgids:
        with suppress(ProcessLookupError):
            os.killpg(pgid, 0)
            running.add(pgid)
    return running


class Lifeline:
    """The write end of a pipe whose read end only a watchdog process holds.

    The watchdog is told each process group as it starts (`+pgid signal`) and as it is reaped
    (`-pgid`). When the pipe reads end of file, because this process ended however it did, the
    watchdog stops the groups still listed, kills what is left after LIFELINE_GRACE_S, and exits.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[int, signal.Signals] = {}
        self._fd: int | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._start_watchdog()
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._drop_in_child)

    def hold(self, pgid: int, stop_signal: signal.Signals) -> None:
        with self._lock:
            self._groups[pgid] = stop_signal
            self._send(f"+{pgid} {int(stop_signal)}\n")

    def release(self, pgid: int) -> None:
        """Forgets a group; called before its leader is reaped, so that its id is never reused
        while the watchdog still holds it."""
        with self._lock:
            if self._groups.pop(pgid, None) is not None:
                self._send(f"-{pgid}\n")

    def close(self) -> None:
        """Cuts the lifeline and waits until the watchdog has stopped what it still held, so
        that nothing of ours outlives this process."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._watchdog is not None:
                self._watchdog.wait()
                self._watchdog = None

    def _send(self, line: str) -> None:
        """Tells the watchdog; a new one, told every group held, if the last one died."""
        if self._fd is not None:
            try:
                os.write(self._fd, line.encode())
                return
            except BrokenPipeError:
                os.close(self._fd)
                self._fd = None
        self._start_watchdog()

    def _start_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.wait()
        read_end, self._fd = os.pipe()
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-m", "devstack.process"],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                cwd=Path(__file__).resolve().parents[1],
                # Its own session keeps a Ctrl-C at the terminal from ending it before its job.
                start_new_session=True,
            )
        finally:
            os.close(read_end)
        held = "".join(f"+{pgid} {int(sig)}\n" for pgid, sig in self._groups.items())
        os.write(self._fd, held.encode())

    def _drop_in_child(self) -> None:
        """A forked child must not hold the write end, or the pipe would outlive this process."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._watchdog = None
        self._groups = {}
        self._lock = threading.Lock()


@functools.cache
def lifeline() -> Lifeline:
    """This process's lifeline, started with its first child."""
    return Lifeline()


def watch(pipe: BinaryIO) -> None:
    """The watchdog's work: follows what the lifeline tells until it breaks, then ends the
    groups still held, as `stop_all` would."""
    groups: dict[int, signal.Signals] = {}
    for line in pipe:
        if line.startswith(b"+"):
            started, signum = line[1:].split()
            groups[int(started)] = signal.Signals(int(signum))
        elif line.startswith(b"-"):
            groups.pop(int(line[1:]), None)
    for pgid, stop_signal in groups.items():
        with suppress(ProcessLookupError):
            os.killpg(pgid, stop_signal)
    deadline = time.monotonic() + LIFELINE_GRACE_S
    while running_groups(groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pgid in running_groups(groups):
        kill_tree(pgid)


class ManagedProcess:
    """A child process with its output in a log file, stopped with its whole process group.

    `stop_signal` is how it is asked to stop; `account` runs it as another user (only root can).
    """

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        account: Account | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.account = account
        self.stop_signal = stop_signal
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        line = lifeline()
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                self.cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                user=None if self.account is None else self.account.uid,
                group=None if self.account is None else self.account.gid,
                extra_groups=None if self.account is None else list(self.account.groups),
            )
        line.hold(self._popen.pid, self.stop_signal)

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.returncode

    def running(self) -> bool:
        return self._popen is not None and not self._exited()

    def _exited(self) -> bool:
        """Whether the process has ended, without reaping it: until it is reaped its id cannot
        be reused, so its group can still be signalled safely."""
        assert self._popen is not None
        if self._popen.returncode is not None:
            return True
        if not hasattr(os, "waitid"):
            return self._popen.poll() is not None
        try:
            ended = os.waitid(os.P_PID, self._popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return ended is not None

    def wait_until(self, ready: Callable[[], bool], *, timeout: float, what: str) -> None:
        """Polls `ready` until it holds; fails early if the process exits, with the log's path."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise StartupError(
                    f"{self.name} exited before {what}; see {self.log_path}:\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.2)
        raise StartupError(
            f"{self.name} did not {what} in {timeout:.0f} s; "
            f"see {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def request_stop(self, sig: signal.Signals | None = None) -> None:
        """Sends the process group its stop signal (or `sig`), unless the process has ended."""
        if self.running():
            assert self._popen is not None
            with suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sig or self.stop_signal)

    def finish(self, deadline: float) -> None:
        """Waits until the process exits or `deadline` (a time.monotonic()) comes, then kills
        whatever is left of it and reaps it."""
        if self._popen is None:
            return
        while not self._exited() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._popen.returncode is None:
            kill_tree(self._popen.pid)
        lifeline().release(self._popen.pid)
        self._popen.wait()

    def stop(self, *, timeout: float = 20.0, sig: signal.Signals | None = None) -> None:
        """Asks the process group to stop, and kills it if it has not within `timeout`."""
        stop_all([self], deadline=time.monotonic() + timeout, sig=sig)

    def kill(self) -> None:
        """Stops the process group at once, as a crash would."""
        self.stop(timeout=10.0, sig=signal.SIGKILL)


def stop_all(
    processes: Iterable[ManagedProcess], *, deadline: float, sig: signal.Signals | None = None
) -> None:
    """Asks all the processes to stop at once, and kills those still running at `deadline`."""
    processes = list(processes)
    for process in processes:
        process.request_stop(sig)
    for process in processes:
        process.finish(deadline)


if __name__ == "__main__":
    watch(sys.stdin.buffer)
