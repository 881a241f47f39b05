"""The README's run command brings the backend up; a request sent by curl reaches the audit log,
read with a token from the token command its banner prints; a citizen applies on WhatsApp with a
photo that intake fetches from the stack's own stand-in for the Graph API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.paths import REPO_ROOT
from devstack.process import free_port
from devstack.stack import SERVICES, Ports, Stack
from tests.conftest import SERVICE_PREFIXES
from tests.e2e.conftest import SUBMISSION, run_ready
from tests.e2e.test_whatsapp import Citizen
from tests.polling import eventually_blocking


def curl(*args: str) -> str:
    result = subprocess.run(["curl", "-sS", "--fail-with-body", *args], capture_output=True,
                            text=True, check=True, timeout=15)  # fmt: skip
    return result.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_run_command_serves_a_request_submitted_with_curl(tmp_path: Path) -> None:
    ports = Ports(
        message_sink=free_port(),
        issuer=free_port(),
        services={name: free_port() for name in SERVICES},
    )
    port_args = [f"--{name}-port={port}" for name, port in ports.services.items()]
    engine_args = [
        f"--kafka-port={free_port()}",
        f"--kafka-controller-port={free_port()}",
        f"--mongo-port={free_port()}",
        f"--message-sink-port={ports.message_sink}",
        f"--postgres-port={free_port()}",
        f"--issuer-port={ports.issuer}",
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
        eventually_blocking(
            lambda: run_ready(run, output), what=f"the banner in {output}", timeout_s=180
        )
        intake = f"http://127.0.0.1:{ports.services['intake']}"
        audit = f"http://127.0.0.1:{ports.services['audit']}"
        banner = output.read_text()
        assert intake in banner
        token_command = re.search(r"\$\((scripts/token [^)]*--role auditor)\)", banner)
        assert token_command is not None, banner

        body = json.dumps(SUBMISSION)
        json_header = "Content-Type: application/json"
        submitted = json.loads(
            curl("-X", "POST", f"{intake}/v1/requests", "-H", json_header, "-d", body)
        )
        request_id = submitted["request_id"]
        # The banner's command as scripts/token runs it, in this test's Python environment.
        token_args = shlex.split(token_command.group(1))[1:]
        token = subprocess.run(
            [sys.executable, "-m", "devstack", "token", *token_args],
            cwd=REPO_ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        auditor = f"Authorization: Bearer {token}"

        def logged() -> list[dict[str, Any]] | None:
            url = f"{audit}/v1/audit/entries?subject={request_id}"
            entries: list[dict[str, Any]] = json.loads(curl("-H", auditor, url))["entries"]
            return entries if len(entries) >= 2 else None

        entries = eventually_blocking(logged, what="the request's first two audit entries")
        assert entries[0]["event_type"] == "id.go.adminduk.request.submitted.v1"

        asyncio.run(apply_on_whatsapp_with_a_photo(Stack(tmp_path / "data", ports)))
    finally:
        run.send_signal(signal.SIGTERM)
        exit_code = run.wait(timeout=90)
    assert exit_code == 0, output.read_text()
    assert "Stopping" in output.read_text()


async def apply_on_whatsapp_with_a_photo(stack: Stack) -> None:
    """The stack `run` started, seen through its ports and run folder: its secrets sign the
    webhooks, its message sink takes the photo and the replies."""
    async with httpx.AsyncClient(timeout=10) as http:
        # Another NIK than the README's curl request, which is still open: one is enough.
        citizen = Citizen(http, stack, "6281311119001", nik="3516091204800002")
        await citizen.apply_for_a_family_card()
