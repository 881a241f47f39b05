"""Processing stopped mid-stream, by a crash or by SIGTERM: no event lost, none applied twice."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from shared.events.models.cases import CaseOpened
from shared.mongo import new_mongo_client
from tests.e2e.conftest import SUBMISSION, audit_entries, sink_messages
from tests.polling import eventually

REQUESTS = 30


TRACKING_NUMBERS: dict[str, str] = {}
"""Each submitted request's tracking number, by request id: the receipt quotes it."""


async def submit(http: httpx.AsyncClient, stack: Stack, n: int) -> str:
    body = {**SUBMISSION, "name": f"Warga Uji {n}"}
    response = await http.post(f"{stack.service_url('intake')}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["request_id"]
    TRACKING_NUMBERS[request_id] = response.json()["tracking_number"]
    return request_id


async def cases_of(stack: Stack, request_ids: list[str]) -> list[dict[str, Any]]:
    client = new_mongo_client(stack.mongo_url)
    try:
        cursor = client["adminduk_processing"]["cases"].find({"_id": {"$in": request_ids}})
        return [document async for document in cursor]
    finally:
        await client.close()


@pytest.mark.parametrize("how", ["crash", "graceful"])
async def test_processing_restart_loses_nothing_and_applies_nothing_twice(
    backend: Stack, http: httpx.AsyncClient, how: str
) -> None:
    request_ids: list[str] = []
    processing = backend.processes["processing"]
    try:
        for n in range(REQUESTS // 3):
            request_ids.append(await submit(http, backend, n))
        if how == "crash":
            processing.kill()
        else:
            processing.stop()
            assert processing.returncode == -signal.SIGTERM, "stopped by force, not by itself"
            assert "Application shutdown complete." in processing.log_tail(lines=40)
        for n in range(REQUESTS // 3, 2 * REQUESTS // 3):
            request_ids.append(await submit(http, backend, n))
    finally:
        await asyncio.to_thread(backend.start_service, "processing")
    for n in range(2 * REQUESTS // 3, REQUESTS):
        request_ids.append(await submit(http, backend, n))

    async def all_opened() -> list[dict[str, Any]] | None:
        entries = [
            entry
            for entry in await audit_entries(http, backend)
            if entry["subject"] in request_ids and entry["event_type"] == CaseOpened.event_type
        ]
        return entries if len(entries) >= REQUESTS else None

    opened = await eventually(all_opened, timeout_s=60, what=f"{REQUESTS} opened cases")
    await asyncio.sleep(2)
    opened = await all_opened() or []

    assert Counter(entry["subject"] for entry in opened) == Counter(request_ids)
    every_entry = await audit_entries(http, backend)
    assert len({entry["event_id"] for entry in every_entry}) == len(every_entry)

    cases = await cases_of(backend, request_ids)
    assert len(cases) == REQUESTS
    assert all(len(case["processed_events"]) == 1 for case in cases)

    async def all_notified() -> list[dict[str, Any]] | None:
        messages = [
            m
            for m in await sink_messages(http, backend)
            if any(TRACKING_NUMBERS[request_id] in m["text"] for request_id in request_ids)
        ]
        return messages if len(messages) >= REQUESTS else None

    messages = await eventually(all_notified, timeout_s=60, what=f"{REQUESTS} messages")
    assert len(messages) == REQUESTS
