"""The local stack's provisioning and process handling, without starting any engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import kafka
from devstack.process import ManagedProcess, StartupError, free_port, port_open


def python(code: str, tmp_path: Path) -> ManagedProcess:
    return ManagedProcess("probe", [sys.executable, "-c", code], log_path=tmp_path / "probe.log")


def test_a_process_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    process = python("print('bad config'); raise SystemExit(3)", tmp_path)
    process.start()

    with pytest.raises(StartupError) as failure:
        process.wait_until(lambda: False, timeout=10, what="become ready")

    message = str(failure.value)
    assert "probe exited before become ready" in message
    assert str(tmp_path / "probe.log") in message
    assert "bad config" in message


def test_a_process_that_never_gets_ready_is_stopped_with_a_clear_error(tmp_path: Path) -> None:
    process = python("import time; time.sleep(60)", tmp_path)
    process.start()
    try:
        with pytest.raises(StartupError, match=r"probe did not become ready in 1 s; see "):
            process.wait_until(lambda: False, timeout=1, what="become ready")
    finally:
        process.stop()
    assert not process.running()


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    process = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)",
        tmp_path,
    )
    process.start()
    process.wait_until(
        lambda: "ready" in (tmp_path / "probe.log").read_text(), timeout=10, what="start"
    )

    process.stop(timeout=0.5)

    assert process.returncode == -9


def test_free_ports_are_free() -> None:
    assert not port_open(free_port())


def test_java_versions_are_read_in_both_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = iter(['openjdk version "17.0.15" 2025-04-15', 'java version "1.8.0_402"'])

    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 0, stdout="", stderr=next(outputs))

    monkeypatch.setattr(subprocess, "run", fake_run)

    assert kafka.java_major_version("java") == 17
    assert kafka.java_major_version("java") == 8


def test_missing_java_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    with pytest.raises(StartupError, match="Java 17 not found"):
        kafka.require_java()


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.setattr(kafka, "java_major_version", lambda java: 11)

    with pytest.raises(StartupError, match="Java 17 not found"):
        kafka.require_java()
