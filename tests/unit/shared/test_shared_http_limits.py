"""The limits every API puts on a request: body size, body time, database deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pymongo import _csot
from pymongo.errors import ExecutionTimeout, NetworkTimeout, OperationFailure
from starlette.types import Message

from shared.access import AccessTable, public
from shared.config import ServiceSettings
from shared.http.app import ReadinessCheck, build_app

router = APIRouter()
FAILURES = {
    "network-timeout": NetworkTimeout("timed out"),
    "execution-timeout": ExecutionTimeout("operation exceeded time limit", code=50),
    "engine-deadline": OperationFailure(
        "[msg_insert.go:110 handler.(*Handler).MsgInsert] [collection.go:260"
        " postgresql.(*collection).InsertAll] timeout: read tcp 127.0.0.1:41234->127.0.0.1:5432:"
        " i/o timeout",
        code=1,
    ),
    "other": OperationFailure("bad command", code=2),
}
ACCESS: AccessTable = {
    ("POST", "/echo"): public(),
    ("GET", "/deadline"): public(),
    ("GET", "/slow-report"): public(),
    ("GET", "/fails/{kind}"): public(),
}


@router.post("/echo")
async def echo(body: dict[str, str]) -> dict[str, str]:
    return body


@router.get("/deadline")
async def deadline() -> dict[str, float | None]:
    return {"remaining": _csot.remaining()}


@router.get("/slow-report")
async def slow_report() -> dict[str, float | None]:
    return {"remaining": _csot.remaining()}


@router.get("/fails/{kind}")
async def fails(kind: str) -> None:
    raise FAILURES[kind]


@asynccontextmanager
async def no_wiring(app: FastAPI) -> AsyncIterator[dict[str, ReadinessCheck]]:
    yield {}


def app() -> FastAPI:
    settings = ServiceSettings(max_body_bytes=100, body_timeout_s=0.3, database_timeout_s=2.0)
    return build_app(
        title="test",
        settings=settings,
        wiring=no_wiring,
        access=ACCESS,
        routers=[router],
        unbounded_paths=["/slow-report"],
    )


async def call(scope_path: str, messages: list[Message], *, hang: bool) -> list[Message]:
    """Runs one request through the app with a client that may stop sending halfway."""
    sent: list[Message] = []
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if hang:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": scope_path, "raw_path": scope_path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"content-type", b"application/json"),
                                     (b"content-length", b"50")],
        "client": ("127.0.0.1", 1), "server": ("test", 80),
    }  # fmt: skip
    await asyncio.wait_for(app()(scope, receive, send), 5)
    return sent


async def test_a_body_that_stops_arriving_is_refused_with_408_in_time() -> None:
    started = asyncio.get_running_loop().time()

    sent = await call(
        "/echo", [{"type": "http.request", "body": b'{"a": "', "more_body": True}], hang=True
    )

    assert asyncio.get_running_loop().time() - started < 2
    assert sent[0]["status"] == 408
    body = json.loads(sent[1]["body"])
    assert body["error"] == "body_timeout"
    assert (b"connection", b"close") in sent[0]["headers"]


async def test_a_body_that_arrives_in_parts_in_time_is_served() -> None:
    parts = [b'{"a": ', b'"b"}']
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": n == 0} for n, part in enumerate(parts)
    ]

    sent = await call("/echo", messages, hang=False)

    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"a": "b"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    application = app()
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://service.test"
        ) as http,
    ):
        yield http


async def test_a_requests_database_work_has_a_deadline_unless_its_route_is_unbounded(
    client: httpx.AsyncClient,
) -> None:
    bounded = (await client.get("/deadline")).json()["remaining"]
    unbounded = (await client.get("/slow-report")).json()["remaining"]

    assert 1.5 < bounded <= 2.0
    assert unbounded is None


@pytest.mark.parametrize("kind", ["network-timeout", "execution-timeout", "engine-deadline"])
async def test_a_database_that_does_not_answer_in_time_is_a_503_to_retry(
    client: httpx.AsyncClient, kind: str
) -> None:
    response = await client.get(f"/fails/{kind}")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == "unavailable"


async def test_any_other_database_error_is_a_500_that_reveals_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/fails/other")

    assert response.status_code == 500
    assert "bad command" not in response.text
