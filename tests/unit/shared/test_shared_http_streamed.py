"""A route that reads its body as a stream: limits of its own, the usual ones everywhere else."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, FastAPI, Request
from pymongo import _csot
from starlette.types import Message

from shared.access import AccessTable, public
from shared.config import ServiceSettings
from shared.http.app import build_app
from shared.http.middleware import StreamedBody
from tests.unit.shared.test_shared_http_limits import no_wiring

router = APIRouter()
ACCESS: AccessTable = {
    ("POST", "/files/{name}"): public(),
    ("POST", "/files/{name}/notes"): public(),
}
STREAMED = StreamedBody(max_bytes=1000, timeout_s=0.5)
read_parts: list[int] = []


@router.post("/files/{name}")
async def upload(name: str, request: Request) -> dict[str, float | int | None]:
    before = _csot.remaining()
    size = 0
    async for part in request.stream():
        if part:
            read_parts.append(len(part))
            size += len(part)
    return {"size": size, "before_body": before, "deadline": _csot.remaining()}


@router.post("/files/{name}/notes")
async def notes(name: str, body: dict[str, str]) -> dict[str, str]:
    return body


def app(database_timeout_s: float = 2.0) -> FastAPI:
    settings = ServiceSettings(
        max_body_bytes=100, body_timeout_s=5, database_timeout_s=database_timeout_s
    )
    return build_app(
        title="test",
        settings=settings,
        wiring=no_wiring,
        access=ACCESS,
        routers=[router],
        streamed_routes={"/files/{name}": STREAMED},
    )


async def call(
    path: str,
    parts: list[bytes],
    *,
    declared: int | None = None,
    hang: bool = False,
    hang_up: bool = False,
    part_every_s: float = 0.0,
    database_timeout_s: float = 2.0,
) -> list[Message]:
    """One request through the app, its body in `parts`, then a client that may stop sending
    (`hang`) or hang up (`hang_up`) before the body's end."""
    read_parts.clear()
    sent: list[Message] = []
    unfinished = hang or hang_up
    pending: list[Message] = [
        {"type": "http.request", "body": part, "more_body": unfinished or n < len(parts) - 1}
        for n, part in enumerate(parts)
    ]

    async def receive() -> Message:
        if pending:
            await asyncio.sleep(part_every_s)
            return pending.pop(0)
        if hang:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/octet-stream")]
    if declared is not None:
        headers.append((b"content-length", str(declared).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("test", 80),
    }  # fmt: skip
    await asyncio.wait_for(app(database_timeout_s)(scope, receive, send), 5)
    return sent


def answer(sent: list[Message]) -> tuple[int, dict[str, object]]:
    return sent[0]["status"], json.loads(sent[1]["body"])


async def test_a_streamed_route_reads_a_body_past_the_usual_limit_part_by_part() -> None:
    sent = await call("/files/kk", [b"a" * 400, b"b" * 400, b"c" * 200])

    status, body = answer(sent)
    assert status == 200
    assert body["size"] == 1000
    assert read_parts == [400, 400, 200]


async def test_its_database_deadline_runs_while_it_works_not_while_its_body_arrives() -> None:
    """The body takes half as long again as the database's deadline; the work before and after
    it each have the whole deadline, as any other route's work does."""
    sent = await call("/files/kk", [b"a", b"b", b"c"], part_every_s=0.15, database_timeout_s=0.3)

    status, body = answer(sent)
    assert status == 200
    assert isinstance(body["before_body"], float)
    assert 0.2 < body["before_body"] <= 0.3
    assert isinstance(body["deadline"], float)
    assert 0.2 < body["deadline"] <= 0.3


async def test_a_streamed_body_over_its_limit_is_refused_without_reading_the_rest() -> None:
    sent = await call("/files/kk", [b"a" * 600, b"b" * 600, b"c" * 600])

    status, body = answer(sent)
    assert status == 413
    assert body == {"error": "body_too_large", "message": "Isi permintaan melebihi 1000 byte."}
    assert read_parts == [600]


async def test_a_declared_length_over_the_limit_is_refused_before_the_route_runs() -> None:
    sent = await call("/files/kk", [b"a" * 10], declared=1001)

    assert answer(sent)[0] == 413
    assert read_parts == []


async def test_a_streamed_body_that_stops_arriving_gets_408_after_its_own_time() -> None:
    started = asyncio.get_running_loop().time()

    sent = await call("/files/kk", [b"a" * 10], hang=True)

    status, body = answer(sent)
    assert status == 408
    assert body["error"] == "body_timeout"
    assert (b"connection", b"close") in sent[0]["headers"]
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_client_that_hangs_up_midway_is_answered_400_not_a_server_error() -> None:
    sent = await call("/files/kk", [b"a" * 10, b"b" * 10], hang_up=True)

    status, body = answer(sent)
    assert status == 400
    assert body["error"] == "client_disconnected"
    assert read_parts == [10, 10]


async def test_every_other_route_keeps_the_usual_limit() -> None:
    sent = await call("/files/kk/notes", [b'{"a": "' + b"x" * 200 + b'"}'])

    status, body = answer(sent)
    assert status == 413
    assert body["message"] == "Isi permintaan melebihi 100 byte."
