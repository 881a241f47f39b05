from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from devstack.process import free_port
from services.audit.config import AuditSettings
from shared.errors import InvalidConfiguration
from shared.runtime import EX_CONFIG, StoppingServer, running, serve
from tests.polling import eventually, eventually_blocking


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
        await eventually(lambda: deaths != [], what="the death noticed", timeout_s=5)
        assert not await checks["relay"]()

    assert deaths == ["death"]


def test_a_stop_signal_ends_an_endless_response_at_once_through_the_exit_hooks() -> None:
    """The server runs in its own thread, where uvicorn leaves signals alone, so telling it to
    stop does not stop the test run too."""
    app = FastAPI()
    stopping = asyncio.Event()
    app.state.exit_hooks = [stopping.set]

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            yield b"first\n"
            await stopping.wait()
            yield b"last\n"

        return StreamingResponse(lines(), media_type="text/plain")

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, timeout_graceful_shutdown=30
    )
    server = StoppingServer(config, app)
    serving = threading.Thread(target=server.run)
    serving.start()
    eventually_blocking(lambda: server.started, what="the server started", timeout_s=10)
    received: list[str] = []
    with httpx.stream("GET", f"http://127.0.0.1:{port}/stream", timeout=10) as response:
        for line in response.iter_lines():
            received.append(line)
            if len(received) == 1:
                began = time.monotonic()
                server.handle_exit(signal.SIGTERM, None)
    serving.join(timeout=10)

    assert not serving.is_alive()
    assert received == ["first", "last"]
    assert time.monotonic() - began < 5


def test_a_service_whose_environment_is_not_named_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AUDIT_ENVIRONMENT", raising=False)
    built: list[AuditSettings] = []

    def create_app(settings: AuditSettings) -> FastAPI:
        built.append(settings)
        raise InvalidConfiguration("the app was built")

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with pytest.raises(SystemExit) as exit_:
            serve("audit", AuditSettings, create_app)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)

    assert exit_.value.code == EX_CONFIG
    assert built == []
    [line] = map(json.loads, capsys.readouterr().out.splitlines())
    assert line["level"] == "CRITICAL"
    assert line["message"] == (
        "audit cannot start: AUDIT_ENVIRONMENT must name the environment: "
        "development, test, production"
    )
