"""A provider that refuses messages for a while: notify retries until the citizen is told."""

from __future__ import annotations

from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models import NotificationSent
from shared.mongo import new_mongo_client
from tests.e2e.conftest import SUBMISSION, audit_entries, eventually, sink_messages


async def test_a_refused_message_is_retried_until_the_provider_takes_it(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    faults = await http.post(
        f"{backend.message_sink_url}/v1/faults",
        json={"fail_next": 2, "status": 503, "to": "+6281299990001"},
    )
    assert faults.status_code == 204

    submission = {**SUBMISSION, "phone": "081299990001"}
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=submission)
    request_id = response.json()["request_id"]
    tracking_number = response.json()["tracking_number"]

    async def delivered() -> list[dict[str, Any]]:
        return [
            m
            for m in await sink_messages(http, backend)
            if m["to"] == "+6281299990001" and tracking_number in m["text"]
        ]

    [message] = await eventually(delivered, timeout_s=45, what="the receipt after two refusals")

    async def sent_event() -> list[dict[str, Any]]:
        entries = await audit_entries(http, backend, subject=request_id)
        return [e for e in entries if e["event_type"] == NotificationSent.event_type]

    [sent] = await eventually(sent_event, what="NotificationSent in the audit log")
    assert sent["data"]["provider_message_id"] == message["message_id"]

    client = new_mongo_client(backend.mongo_url)
    try:
        stored = await client["adminduk_notify"]["notifications"].find_one({"about": request_id})
    finally:
        await client.close()
    assert stored is not None
    assert stored["attempts"] == 3
    assert stored["status"] == "SENT"
