"""A provider that refuses messages for a while, or asks to wait: notify retries on the same
channel, no sooner than asked, until the citizen is told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.notifications import NotificationSent
from shared.mongo import new_mongo_client
from tests.e2e.conftest import SUBMISSION, audit_entries, sink_messages
from tests.polling import eventually


async def test_a_refused_message_is_retried_until_the_provider_takes_it(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    faults = await http.post(
        f"{backend.message_sink_url}/v1/faults",
        json={"channel": "WHATSAPP", "count": 2, "status": 503, "to": "+6281299990001"},
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
    assert (stored["status"], stored["channel"], stored["tried"]) == ("SENT", "WHATSAPP", [])
    assert message["channel"] == "WHATSAPP"


async def test_a_throttled_message_waits_as_long_as_the_provider_asked(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    phone = "+6281299990005"
    faults = await http.post(
        f"{backend.message_sink_url}/v1/faults",
        json={"channel": "SMS", "status": 429, "retry_after": "4", "to": phone},
    )
    assert faults.status_code == 204
    submission = {**SUBMISSION, "phone": "081299990005", "preferred_channel": "SMS"}
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=submission)
    request_id = response.json()["request_id"]
    client = new_mongo_client(backend.mongo_url)
    notifications = client["adminduk_notify"]["notifications"]

    async def refused() -> dict[str, Any] | None:
        return await notifications.find_one({"about": request_id, "attempts": 1})

    async def sent() -> dict[str, Any] | None:
        return await notifications.find_one({"about": request_id, "status": "SENT"})

    try:
        first = await eventually(refused, what="the refused first attempt")
        stored = await eventually(sent, timeout_s=30, what="the receipt after the wait")
    finally:
        await client.close()
    assert "429" in first["last_error"]
    assert first["next_attempt_at"] - first["created_at"] >= timedelta(seconds=4)
    assert stored["attempts"] == 2
    [message] = [m for m in await sink_messages(http, backend) if m["to"] == phone]
    assert stored["provider_message_id"] == message["message_id"]
