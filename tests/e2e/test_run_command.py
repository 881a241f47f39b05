"""The README's run command brings the backend up; a request sent by curl reaches the audit log,
read with a token from the README's token command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.paths import REPO_ROOT
from devstack.process import free_port
from devstack.stack import SERVICES
from tests.conftest import SERVICE_PREFIXES
from tests.e2e.conftest import SUBMISSION


def curl(*args: str) -> str:
    result = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True,
                            text=True, check=True, timeout=15)  # fmt: skip
    return result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_run_command_serves_a_request_submitted_with_curl(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICES}
    issuer_port = free_port()
    port_args = [f"--{name}-port={port}" for name, port in ports.items()]
    engine_args = [
        f"--kafka-port={free_port()}",
        f"--kafka-controller-port={free_port()}",
        f"--mongo-port={free_port()}",
        f"--message-sink-port={free_port()}",
        f"--postgres-port={free_port()}",
        f"--issuer-port={issuer_port}",
    ]
    output = tmp_path / "run.out"
    # As on a fresh shell: the command names the services' environment itself.
    unnamed = {f"{prefix}ENVIRONMENT" for prefix in SERVICE_PREFIXES}
    env = {name: value for name, value in os.environ.items() if name not in unnamed}
    with output.open("w") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", f"--data-dir={tmp_path / 'data'}",
             *engine_args, *port_args],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "Press Ctrl-C to stop." not in output.read_text():
            assert run.poll() is None, output.read_text()
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.5)
        intake = f"http://127.0.0.1:{ports['intake']}"
        audit = f"http://127.0.0.1:{ports['audit']}"
        assert intake in output.read_text()

        body = json.dumps(SUBMISSION)
        json_header = "Content-Type: application/json"
        submitted = json.loads(
            curl("-X", "POST", f"{intake}/v1/requests", "-H", json_header, "-d", body)
        )
        request_id = submitted["request_id"]
        token = subprocess.run(
            [sys.executable, "-m", "devstack", "token", "--role", "auditor",
             f"--data-dir={tmp_path / 'data'}", f"--issuer-port={issuer_port}"],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        auditor = f"Authorization: Bearer {token}"
        deadline = time.monotonic() + 30
        while True:
            entries = json.loads(
                curl("-H", auditor, f"{audit}/v1/audit/entries?subject={request_id}")
            )
            if len(entries["entries"]) >= 2:
                break
            assert time.monotonic() < deadline, entries
            time.sleep(0.3)
        assert entries["entries"][0]["event_type"] == "id.go.adminduk.request.submitted.v1"
    finally:
        run.send_signal(signal.SIGTERM)
        exit_code = run.wait(timeout=90)
    assert exit_code == 0, output.read_text()
    assert "Stopping" in output.read_text()
