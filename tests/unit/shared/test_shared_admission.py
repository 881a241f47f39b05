"""A service admits only the engine work it can finish: beyond its limit, or while the database
does not answer, a request is refused with 503 at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pymongo import _csot
from pymongo.errors import NetworkTimeout

from shared.access import AccessTable, public
from shared.config import ServiceSettings
from shared.http.app import ReadinessCheck, build_app
from tests.polling import eventually

router = APIRouter()
ACCESS: AccessTable = {
    ("GET", "/work"): public(),
    ("GET", "/stalls"): public(),
    ("GET", "/stream"): public(),
}


class Engine:
    """What the routes wait on, and what the readiness ping says."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0
        self.both_started = asyncio.Event()
        self.answers = False


ENGINE = Engine()


@router.get("/work")
async def work() -> dict[str, str]:
    ENGINE.started += 1
    if ENGINE.started == 2:
        ENGINE.both_started.set()
    await ENGINE.release.wait()
    return {"done": "yes"}


@router.get("/stalls")
async def stalls() -> None:
    raise NetworkTimeout("timed out")


@router.get("/stream")
async def stream() -> dict[str, str]:
    await ENGINE.release.wait()
    return {"done": "yes"}


@asynccontextmanager
async def wiring(app: FastAPI) -> AsyncIterator[dict[str, ReadinessCheck]]:
    async def mongo() -> bool:
        """Answers when the engine does, and never within a request's expired deadline."""
        return ENGINE.answers and _csot.remaining() is None

    yield {"mongo": mongo}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    global ENGINE
    ENGINE = Engine()
    application = build_app(
        title="test",
        settings=ServiceSettings(max_concurrent_requests=2),
        wiring=wiring,
        access=ACCESS,
        routers=[router],
        unbounded_paths=["/stream"],
    )
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://service.test"
        ) as http,
    ):
        yield http


async def test_beyond_its_limit_a_request_is_refused_at_once_and_admitted_again_after(
    client: httpx.AsyncClient,
) -> None:
    working = [asyncio.create_task(client.get("/work")) for _ in range(2)]
    async with asyncio.timeout(5):
        await ENGINE.both_started.wait()

    refused = await client.get("/work")
    streamed = asyncio.create_task(client.get("/stream"))
    probe = await client.get("/healthz")
    ENGINE.release.set()
    answers = await asyncio.gather(*working, streamed)

    assert refused.status_code == 503
    assert refused.json()["error"] == "busy"
    assert int(refused.headers["Retry-After"]) > 0
    assert ENGINE.started == 2
    assert probe.status_code == 200
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert (await client.get("/work")).status_code == 200


async def test_after_a_database_timeout_nothing_is_admitted_until_the_database_answers(
    client: httpx.AsyncClient,
) -> None:
    ENGINE.release.set()

    timed_out = await client.get("/stalls")
    refused = [await client.get("/work"), await client.get("/stream")]
    ready = await client.get("/readyz")
    ENGINE.answers = True

    assert timed_out.status_code == 503
    assert [response.json()["error"] for response in refused] == ["unavailable"] * 2
    assert ENGINE.started == 0
    assert ready.status_code == 503

    async def served() -> bool:
        return (await client.get("/work")).status_code == 200

    await eventually(served, what="work served again", timeout_s=5)
