"""Notify's delivery policy on the whole stack and the loopback providers: the preferred channel
first, SMS when WhatsApp cannot deliver, one message however the provider or notify misbehaves."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from shared.events.models.notifications import NotificationSent
from shared.mongo import Document, new_mongo_client
from tests.e2e.conftest import SUBMISSION, audit_entries, sink_messages
from tests.polling import eventually


async def received(http: httpx.AsyncClient, stack: Stack, phone: str) -> list[dict[str, Any]]:
    """What the loopback providers took for `phone` (E.164), on any channel, oldest first."""
    return [message for message in await sink_messages(http, stack) if message["to"] == phone]


async def inject(http: httpx.AsyncClient, stack: Stack, **fault: Any) -> None:
    response = await http.post(f"{stack.message_sink_url}/v1/faults", json=fault)
    assert response.status_code == 204, response.text


async def submit(
    http: httpx.AsyncClient, stack: Stack, *, phone: str, channel: str
) -> tuple[str, str]:
    """Submits a request for a citizen at `phone` (local form) preferring `channel`; returns
    its request id and tracking number."""
    body = {**SUBMISSION, "phone": phone, "preferred_channel": channel}
    response = await http.post(f"{stack.service_url('intake')}/v1/requests", json=body)
    assert response.status_code == 202, response.text
    return response.json()["request_id"], response.json()["tracking_number"]


async def stored_notification(stack: Stack, request_id: str) -> Document | None:
    client = new_mongo_client(stack.mongo_url)
    try:
        found: Document | None = await client["adminduk_notify"]["notifications"].find_one(
            {"about": request_id}
        )
        return found
    finally:
        await client.close()


async def test_a_citizen_whatsapp_cannot_reach_gets_one_sms_instead(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    phone = "+6281299980001"
    await inject(
        http, backend, channel="WHATSAPP", to=phone, status=400, graph_code=131026, count=1
    )

    request_id, tracking_number = await submit(
        http, backend, phone="081299980001", channel="WHATSAPP"
    )

    async def sms_arrived() -> list[dict[str, Any]]:
        return [
            message
            for message in await received(http, backend, phone)
            if message["channel"] == "SMS" and tracking_number in message["text"]
        ]

    [sms] = await eventually(sms_arrived, timeout_s=45, what="the receipt by SMS")

    async def sent_event() -> list[dict[str, Any]]:
        entries = await audit_entries(http, backend, subject=request_id)
        return [e for e in entries if e["event_type"] == NotificationSent.event_type]

    [sent] = await eventually(sent_event, what="NotificationSent in the audit log")
    assert (sent["data"]["channel"], sent["data"]["provider_message_id"]) == (
        "SMS",
        sms["message_id"],
    )
    assert [message["channel"] for message in await received(http, backend, phone)] == ["SMS"]
    stored = await stored_notification(backend, request_id)
    assert stored is not None
    assert (stored["status"], stored["channel"]) == ("SENT", "SMS")
    [whatsapp] = stored["tried"]
    assert (whatsapp["channel"], whatsapp["attempts"]) == ("WHATSAPP", 1)
    assert "131026" in whatsapp["reason"]


async def test_a_provider_that_takes_a_message_but_times_out_sends_it_once(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    phone = "+6281299980002"
    await inject(http, backend, channel="SMS", to=phone, kind="hang")

    request_id, _ = await submit(http, backend, phone="081299980002", channel="SMS")

    async def settled() -> Document | None:
        stored = await stored_notification(backend, request_id)
        return stored if stored is not None and stored["status"] == "SENT" else None

    stored = await eventually(settled, timeout_s=60, what="the receipt sent after a timeout")
    [message] = await received(http, backend, phone)
    assert stored["attempts"] == 2
    assert stored["provider_message_id"] == message["message_id"]
    assert "timeout" in stored["last_error"].lower()


async def test_notify_killed_after_the_provider_took_a_message_sends_nothing_more(
    backend: Stack, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL while the providers hold their answers: on restart, the SMS gateway's copy is
    confirmed under its idempotency key; the WhatsApp one, which no key protects, is held in
    doubt instead of sent again."""
    lease_s = 10
    for name, value in {
        "NOTIFY_DELIVERY_LEASE_S": str(lease_s),
        "NOTIFY_SMS_TIMEOUT_S": "8",
        "NOTIFY_WHATSAPP_TIMEOUT_S": "8",
    }.items():
        monkeypatch.setenv(name, value)
    backend.processes["notify"].stop()
    await asyncio.to_thread(backend.start_service, "notify")
    by_sms, by_whatsapp = "+6281299980003", "+6281299980004"
    await inject(http, backend, channel="SMS", to=by_sms, kind="hang")
    await inject(http, backend, channel="WHATSAPP", to=by_whatsapp, kind="hang")

    sms_request, _ = await submit(http, backend, phone="081299980003", channel="SMS")
    whatsapp_request, _ = await submit(http, backend, phone="081299980004", channel="WHATSAPP")

    async def both_taken() -> bool:
        return all(
            [await received(http, backend, by_sms), await received(http, backend, by_whatsapp)]
        )

    try:
        await eventually(both_taken, timeout_s=20, what="both messages at the providers")
        backend.processes["notify"].kill()
    finally:
        await asyncio.to_thread(backend.start_service, "notify")

    async def settled() -> tuple[Document, Document] | None:
        sms = await stored_notification(backend, sms_request)
        whatsapp = await stored_notification(backend, whatsapp_request)
        if sms is None or whatsapp is None:
            return None
        if (sms["status"], whatsapp["status"]) != ("SENT", "UNCERTAIN"):
            return None
        return sms, whatsapp

    sms, whatsapp = await eventually(
        settled, timeout_s=lease_s + 30, what="both attempts settled after the restart"
    )
    await asyncio.sleep(3)
    [sms_message] = await received(http, backend, by_sms)
    [whatsapp_message] = await received(http, backend, by_whatsapp)
    assert sms["provider_message_id"] == sms_message["message_id"]
    assert whatsapp_message["channel"] == "WHATSAPP"
    assert whatsapp_message["reference"] == f"{whatsapp['_id']}:WHATSAPP"
    assert whatsapp["channel"] == "WHATSAPP"
