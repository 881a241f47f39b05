"""`python -m devstack run` ends every process it started: within 20 s of SIGTERM even when a
service and an engine hang, and soon after the supervisor itself is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devstack.paths import REPO_ROOT
from devstack.process import free_port
from devstack.stack import SERVICES, Ports, Stack
from tests.e2e.conftest import SUBMISSION, run_ready
from tests.polling import eventually, eventually_blocking

STOP_LIMIT_S = 20.0
MARKER = "ADMINDUK_SUPERVISOR_TEST"
"""Set in the supervisor's environment, so in its children's, to find them in /proc."""


@dataclass(frozen=True)
class Proc:
    pid: int
    parent: int
    state: str
    started: int
    """Clock ticks after boot: tells a process from a later one with the same pid."""


def processes() -> dict[int, Proc]:
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        table[pid] = Proc(pid, int(fields[1]), fields[0], int(fields[19]))
    return table


def family(pid: int) -> set[Proc]:
    """Every process below `pid` right now."""
    table = processes()
    found: set[Proc] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for proc in table.values():
            if proc.parent == parent:
                found.add(proc)
                todo.append(proc.pid)
    return found


def marked(marker: str) -> set[int]:
    """Processes whose environment carries the marker (PostgreSQL overwrites its own)."""
    pids = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"{MARKER}={marker}".encode() in environ.read_bytes().split(b"\0"):
                pids.add(int(environ.parent.name))
        except OSError:
            continue
    return pids


def leftovers(started: set[Proc], marker: str) -> list[int]:
    """The processes of the run that still run; zombies have ended, they only wait for init."""
    alive = {(proc.pid, proc.started) for proc in processes().values() if proc.state != "Z"}
    same = {proc.pid for proc in started if (proc.pid, proc.started) in alive}
    return sorted(same | (marked(marker) & {pid for pid, _ in alive}))


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass(frozen=True)
class Run:
    process: subprocess.Popen[bytes]
    output: Path
    marker: str
    started: set[Proc]
    """Every process below the supervisor once it was ready."""

    def pids_of(self, command: str) -> list[int]:
        return sorted(proc.pid for proc in self.started if command in command_line(proc.pid))

    def pid_of(self, command: str) -> int:
        (pid,) = self.pids_of(command)
        return pid

    def wait_gone(self, *, deadline: float) -> list[int]:
        while (left := leftovers(self.started, self.marker)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


@pytest.fixture
def run(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Run]:
    """`python -m devstack run` on free ports, with the options a test names as its parameter,
    ready; whatever it leaves is killed afterwards."""
    options: list[str] = getattr(request, "param", [])
    ports = [
        f"--{option}-port={free_port()}"
        for option in (
            "kafka", "kafka-controller", "mongo", "postgres", "message-sink",
            "message-sink-smtp", "issuer", *SERVICES,
        )
    ]  # fmt: skip
    marker = uuid.uuid4().hex
    output = tmp_path / "run.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", f"--data-dir={tmp_path / 'data'}", *ports,
             *options],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            env=os.environ | {MARKER: marker},
        )  # fmt: skip
    started: set[Proc] = set()
    try:
        eventually_blocking(
            lambda: run_ready(process, output), what=f"the banner in {output}", timeout_s=300
        )
        started = family(process.pid)
        yield Run(process, output, marker, started)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in leftovers(started, marker):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if scratch := re.search(r"PostgreSQL data: (\S+), removed at stop", output.read_text()):
            shutil.rmtree(scratch.group(1), ignore_errors=True)


def test_everything_ends_soon_after_the_supervisor_is_killed(run: Run) -> None:
    assert run.pid_of("postgres -D")
    assert run.pid_of("kafka.Kafka")

    run.process.kill()
    killed_at = time.monotonic()
    run.process.wait()

    left = run.wait_gone(deadline=killed_at + STOP_LIMIT_S)
    assert not left, [command_line(pid) for pid in left]
    elapsed = time.monotonic() - killed_at
    print(f"{len(run.started)} processes ended {elapsed:.1f} s after SIGKILL")


def test_a_hung_service_and_a_hung_engine_do_not_hold_up_the_stop(run: Run) -> None:
    os.kill(run.pid_of("services.processing"), signal.SIGSTOP)
    os.kill(run.pid_of("kafka.Kafka"), signal.SIGSTOP)

    run.process.send_signal(signal.SIGTERM)
    stopping_at = time.monotonic()
    exit_code = run.process.wait(timeout=STOP_LIMIT_S)
    exited = time.monotonic() - stopping_at

    left = run.wait_gone(deadline=stopping_at + STOP_LIMIT_S)
    assert not left, [command_line(pid) for pid in left]
    assert exit_code == 0, run.output.read_text()
    ended = time.monotonic() - stopping_at
    count = len(run.started)
    print(f"exited {exited:.1f} s after SIGTERM, its {count} processes ended by {ended:.1f} s")


@pytest.mark.parametrize("run", [["--instances=2", "--kafka-brokers=3"]], indirect=True)
def test_a_scaled_stack_serves_and_stops_in_time_with_a_hung_instance_and_broker(run: Run) -> None:
    """Two instances of each service behind their balancers, and three brokers: a request sent
    to the public port reaches the audit log through the cluster, and every process ends within
    the limit of one SIGTERM, though an instance and a broker hang."""
    banner = run.output.read_text()
    assert re.search(r"^    intake-2 +http://", banner, re.MULTILINE), banner
    assert len(run.pids_of("services.processing")) == 2
    assert len(run.pids_of("devstack.balancer")) == len(SERVICES)
    brokers = run.pids_of("kafka.Kafka")
    assert len(brokers) == 3
    asyncio.run(submit_and_see_it_audited(run))
    os.kill(run.pids_of("services.processing")[-1], signal.SIGSTOP)
    os.kill(brokers[-1], signal.SIGSTOP)

    run.process.send_signal(signal.SIGTERM)
    stopping_at = time.monotonic()
    exit_code = run.process.wait(timeout=STOP_LIMIT_S)

    left = run.wait_gone(deadline=stopping_at + STOP_LIMIT_S)
    assert not left, [command_line(pid) for pid in left]
    assert exit_code == 0, run.output.read_text()


async def submit_and_see_it_audited(run: Run) -> None:
    """Submits a request at the public intake port and waits until the public audit port logs
    its submission and its case."""
    banner = run.output.read_text()
    public = {
        name: re.search(rf"^  {name} +(http://\S+)$", banner, re.MULTILINE)
        for name in ("intake", "audit", "issuer")
    }
    assert all(public.values()), banner
    intake, audit, issuer = (match.group(1) for match in public.values() if match)
    stack = Stack(run.output.parent / "data", Ports(issuer=int(issuer.rsplit(":", 1)[1])))
    auditor = {"Authorization": f"Bearer {stack.mint_token('auditor')}"}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{intake}/v1/requests", json=SUBMISSION)
        assert response.status_code == 202, response.text
        request_id: str = response.json()["request_id"]

        async def logged() -> list[dict[str, object]] | None:
            entries = await http.get(
                f"{audit}/v1/audit/entries", params={"subject": request_id}, headers=auditor
            )
            found: list[dict[str, object]] = entries.json()["entries"]
            return found if len(found) >= 2 else None

        await eventually(logged, what="the request and its case in the audit log")
