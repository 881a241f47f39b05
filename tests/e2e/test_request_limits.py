"""Slow clients, a stalled database and request limits, against the running intake service."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx
from pymongo.database import Database

from devstack.stack import Stack
from shared.mongo import Document
from tests.e2e.conftest import SUBMISSION, audit_entries
from tests.polling import eventually

BODY_TIMEOUT_S = 2
IDLE_TIMEOUT_S = 2
DATABASE_TIMEOUT_S = 2


async def open_connection(stack: Stack) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", stack.ports.services["intake"])


async def test_a_body_shorter_than_declared_is_refused_in_time_and_the_connection_closed(
    backend: Stack,
) -> None:
    reader, writer = await open_connection(backend)
    started = time.monotonic()
    writer.write(
        b"POST /v1/requests HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
        b"Content-Length: 500\r\n\r\n" + b'{"service_code"'
    )
    await writer.drain()

    answer = await asyncio.wait_for(reader.read(), BODY_TIMEOUT_S + 10)
    writer.close()

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"error":"body_timeout"' in answer
    assert time.monotonic() - started < BODY_TIMEOUT_S + 5


async def test_an_idle_connection_is_closed_by_the_server(backend: Stack) -> None:
    reader, writer = await open_connection(backend)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: intake\r\n\r\n")
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200 ")
    started = time.monotonic()

    rest = await asyncio.wait_for(reader.read(), IDLE_TIMEOUT_S + 10)
    writer.close()

    assert rest.endswith(b'{"status":"ok"}')
    assert time.monotonic() - started < IDLE_TIMEOUT_S + 5


async def test_a_stalled_database_gets_every_request_an_answer_within_its_deadline(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    url = f"{backend.service_url('intake')}/v1/requests"

    async def submit(delay: float) -> tuple[httpx.Response, float]:
        await asyncio.sleep(delay)
        started = time.monotonic()
        response = await http.post(url, json=SUBMISSION)
        return response, time.monotonic() - started

    engine = backend.processes["ferretdb"].pid
    assert engine is not None
    os.killpg(engine, signal.SIGSTOP)
    try:
        answers = await asyncio.gather(*(submit(0.3 * n) for n in range(8)))
    finally:
        os.killpg(engine, signal.SIGCONT)

    assert all(elapsed < DATABASE_TIMEOUT_S + 3 for _, elapsed in answers), answers
    refused = [response for response, _ in answers if response.status_code == 503]
    assert refused, [response.status_code for response, _ in answers]
    assert all(int(response.headers["Retry-After"]) > 0 for response in refused)
    assert all(response.json()["error"] == "unavailable" for response in refused)
    assert {response.status_code for response, _ in answers} <= {202, 503}

    async def accepted_again() -> httpx.Response | None:
        response = await http.post(url, json=SUBMISSION)
        return response if response.status_code == 202 else None

    request_id = (await eventually(accepted_again, what="intake to accept again")).json()[
        "request_id"
    ]

    async def audited() -> list[dict[str, Any]]:
        return await audit_entries(http, backend, subject=request_id)

    await eventually(audited, what="the request after the outage to be audited")


async def test_a_clients_calls_are_counted_in_the_database_every_instance_shares(
    backend: Stack, http: httpx.AsyncClient, intake_db: Database[Document]
) -> None:
    intake = backend.service_url("intake")

    response = await http.post(
        f"{intake}/v1/lookup", json={"tracking_number": "ZZZZZZZZ", "nik_last4": "0001"}
    )

    assert response.status_code == 404
    counters = intake_db["counts"].find({"_id": {"$regex": r"^lookups\|127\.0\.0\.1\|"}})
    assert [counter["n"] for counter in counters]


async def test_a_tracking_number_tried_with_wrong_digits_is_locked_for_the_hour(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    intake = backend.service_url("intake")
    submitted = (await http.post(f"{intake}/v1/requests", json=SUBMISSION)).json()
    number = submitted["tracking_number"]

    wrong = [
        await http.post(
            f"{intake}/v1/lookup", json={"tracking_number": number, "nik_last4": f"{9000 + n}"}
        )
        for n in range(5)
    ]
    locked = await http.post(
        f"{intake}/v1/lookup",
        json={"tracking_number": number, "nik_last4": SUBMISSION["nik"][-4:]},
    )

    assert [response.status_code for response in wrong] == [404] * 5
    assert locked.status_code == 429
    assert locked.json()["error"] == "locked"
    assert 1 <= int(locked.headers["Retry-After"]) <= 3600
