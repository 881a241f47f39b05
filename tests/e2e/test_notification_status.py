"""Delivery statuses on the running services: Meta reports a receipt delivered and then read
to its one callback URL, intake's signed webhook, which passes each status on to notify as a
`DeliveryReported` event; the citizen and an officer of the case's service point see it in the
request's message history, an officer of another point finds no such request, and audit has each
status once and each read by the officer; a badly signed report changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import uuid4

import httpx

from devstack.stack import Stack
from services.intake.conversations.routes import WHATSAPP_WEBHOOK_PATH as WEBHOOK_PATH
from shared.events.models.notifications import NotificationHistoryViewed, NotificationStatusChanged
from tests.e2e.conftest import SUBMISSION, audit_entries, sign_in
from tests.polling import eventually
from tests.whatsapp_webhooks import body_of, notification, signed, status

PHONE = "+6285700000871"


async def test_meta_reports_a_receipt_delivered_and_read_and_everyone_entitled_sees_it(
    backend: Stack, http: httpx.AsyncClient, tokens: Callable[..., dict[str, str]]
) -> None:
    intake, notify = backend.service_url("intake"), backend.service_url("notify")
    submitted = await http.post(
        f"{intake}/v1/requests", json=SUBMISSION | {"phone": "085700000871"}
    )
    assert submitted.status_code == 202, submitted.text
    request_id = submitted.json()["request_id"]

    async def receipt_taken() -> dict[str, Any] | None:
        response = await http.get(
            f"{backend.message_sink_url}/v1/received", params={"channel": "WHATSAPP"}
        )
        response.raise_for_status()
        taken = [message for message in response.json() if message["to"] == PHONE]
        return taken[0] if taken else None

    receipt = await eventually(receipt_taken, what="the receipt at the WhatsApp stand-in")
    wamid, key = receipt["message_id"], receipt["reference"]
    app_secret = backend.service_secret("INTAKE_WHATSAPP_APP_SECRET")
    history_url = f"{notify}/v1/notifications"
    officer = tokens("verifier", service_point="KANTOR_DINAS")

    async def history(headers: dict[str, str]) -> dict[str, Any]:
        response = await http.get(history_url, params={"request_id": request_id}, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    elsewhere = tokens("verifier", service_point="MPP_LAIN", subject="verifier-elsewhere")
    other_point = await http.get(history_url, params={"request_id": request_id}, headers=elsewhere)
    missing = await http.get(history_url, params={"request_id": str(uuid4())}, headers=elsewhere)
    assert other_point.status_code == missing.status_code == 404, other_point.text
    assert other_point.json() == missing.json()

    forged = body_of(notification(statuses=[status(PHONE[1:], wamid, "failed")]))
    refused = await http.post(
        f"{intake}{WEBHOOK_PATH}", content=forged, headers=signed(forged, "not-the-app-secret")
    )
    assert refused.status_code == 401

    for state in ("delivered", "read", "delivered"):
        report = status(PHONE[1:], wamid, state, biz_opaque_callback_data=key)
        body = body_of(notification(statuses=[report]))
        answer = await http.post(
            f"{intake}{WEBHOOK_PATH}", content=body, headers=signed(body, app_secret)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"messages": 0, "statuses": 1}

    citizen = await sign_in(http, backend, PHONE)

    async def read_recorded() -> dict[str, Any] | None:
        own = await history(citizen)
        seen = {
            item["status"]
            for message in own["messages"]
            for delivery in message["deliveries"]
            for item in delivery["statuses"]
        }
        return own if {"DELIVERED", "READ"} <= seen else None

    own = await eventually(read_recorded, what="both statuses in the citizen's history")
    (message,) = own["messages"]
    assert message["provider_message_id"] == wamid
    assert message["delivery_status"] == "READ"
    assert [seen["status"] for seen in message["deliveries"][0]["statuses"]] == [
        "DELIVERED",
        "READ",
    ]
    assert message["recipient"] == "+62857****871"
    assert PHONE not in str(own)
    assert await history(officer) == own
    stranger = await http.get(
        history_url,
        params={"request_id": request_id},
        headers=await sign_in(http, backend, "+6285700000872"),
    )
    assert stranger.status_code == 404

    async def two_audited(event_type: str) -> list[dict[str, Any]] | None:
        entries = [
            entry
            for entry in await audit_entries(http, backend, subject=request_id)
            if entry["event_type"] == event_type
        ]
        return entries if len(entries) >= 2 else None

    entries = await eventually(
        partial(two_audited, NotificationStatusChanged.event_type),
        what="the statuses in the audit log",
    )
    assert sorted(entry["data"]["status"] for entry in entries) == ["DELIVERED", "READ"]
    assert {entry["data"]["provider_message_id"] for entry in entries} == {wamid}
    assert "FAILED" not in str(await history(officer))

    officer_reads = await eventually(
        partial(two_audited, NotificationHistoryViewed.event_type),
        what="the officer's reads in the audit log",
    )
    assert {entry["data"]["actor"]["role"] for entry in officer_reads} == {"verifier"}
    assert {entry["data"]["actor"]["service_point"] for entry in officer_reads} == {"KANTOR_DINAS"}
    assert len(officer_reads) == 2
