"""What citizens are told, on the running services: one receipt per request with its tracking
number, a send-back with what to fix, nothing to a citizen without a phone, and the templates
preview for supervisors.

The loopback providers keep every test's messages, so each test has phone numbers of its own
and finds its messages by recipient and by the idempotency key they carry (`reference`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.cases import CaseOpened
from shared.events.models.notifications import NotificationSent
from shared.mongo import new_mongo_client
from tests.e2e.conftest import (
    SUBMISSION,
    audit_entries,
    sink_messages,
    upload_documents,
)
from tests.polling import eventually

Tokens = Callable[..., dict[str, str]]


async def messages_to(
    http: httpx.AsyncClient, stack: Stack, phone: str, containing: str
) -> list[dict[str, Any]]:
    return [
        message
        for message in await sink_messages(http, stack)
        if message["to"] == phone
        and ":citizen:" in message["reference"]
        and containing in message["text"]
    ]


async def submit(
    http: httpx.AsyncClient, stack: Stack, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await http.post(
        f"{stack.service_url('intake')}/v1/requests", json=body, headers=headers
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def test_a_submitted_request_gets_exactly_one_receipt_with_its_tracking_number(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    submitted = await submit(http, backend, SUBMISSION | {"phone": "085700000601"}, {})
    tracking_number = submitted["tracking_number"]

    async def receipts() -> list[dict[str, Any]]:
        return await messages_to(http, backend, "+6285700000601", tracking_number)

    [receipt] = await eventually(receipts, what="the receipt at the message sink")
    assert receipt["channel"] == "WHATSAPP"
    assert receipt["template"]["name"] == "adminduk_permohonan_diterima_kurang_dokumen"
    assert receipt["template"]["language"] == "id"
    assert receipt["template"]["parameters"][0] == "Siti Aminah"
    assert receipt["template"]["parameters"][2] == tracking_number
    assert receipt["template"]["parameters"][4] == "buku nikah"
    assert f"Nomor lacak: {tracking_number}" in receipt["text"]
    assert "Perkiraan selesai:" in receipt["text"]
    assert "Dokumen yang masih perlu dikirim: buku nikah" in receipt["text"]
    assert "GRATIS" in receipt["text"]

    async def case_opened() -> bool:
        entries = await audit_entries(http, backend, subject=submitted["request_id"])
        return any(entry["event_type"] == CaseOpened.event_type for entry in entries)

    await eventually(case_opened, what="the case to be opened")
    await asyncio.sleep(2)
    everything = [m for m in await sink_messages(http, backend) if m["to"] == "+6285700000601"]
    assert everything == [receipt], "the case's opening sends nothing more"


async def test_a_send_back_tells_the_citizen_what_to_fix_once(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    point = f"MPP_{uuid.uuid4().hex[:8].upper()}"
    counter = tokens("counter_officer", service_point=point, subject=f"counter-{point}")
    verifier = tokens("verifier", service_point=point, subject=f"verifier-{point}")
    body = SUBMISSION | {"phone": "085700000602", "preferred_channel": "SMS"}
    submitted = await submit(http, backend, body, counter)
    request_id = submitted["request_id"]

    async def sms_receipts() -> list[dict[str, Any]]:
        return await messages_to(http, backend, "+6285700000602", "diterima")

    [receipt] = await eventually(sms_receipts, what="the receipt by SMS")
    assert receipt["channel"] == "SMS"
    assert receipt["template"] is None
    assert submitted["tracking_number"] in receipt["text"]
    await upload_documents(http, backend, request_id, counter)
    processing = backend.service_url("processing")

    async def claimed() -> bool:
        response = await http.post(f"{processing}/v1/queues/claim-next", headers=verifier)
        return response.status_code == 200 and response.json()["request_id"] == request_id

    await eventually(claimed, what="the case in the verifier's queue")
    sent_back = await http.post(
        f"{processing}/v1/cases/{request_id}/request-revision",
        json={"items": ["Foto buku nikah tidak terbaca"], "documents": ["BUKU_NIKAH"]},
        headers=verifier,
    )
    assert sent_back.status_code == 200, sent_back.text

    async def send_backs() -> list[dict[str, Any]]:
        return await messages_to(http, backend, "+6285700000602", "perlu diperbaiki")

    [message] = await eventually(send_backs, what="the send-back at the message sink")
    assert message["channel"] == "SMS"
    assert message["template"] is None
    assert message["text"] == (
        f"Permohonan KK baru no. {submitted['tracking_number']} perlu diperbaiki: Foto buku "
        "nikah tidak terbaca. Kirim ulang: buku nikah. GRATIS. Dispendukcapil"
    )
    await asyncio.sleep(2)
    assert await send_backs() == [message]


async def test_a_citizen_without_a_phone_is_sent_nothing_and_their_operator_is_owed_it(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    operator = tokens("village_operator", village="3516092004", subject="operator-jatirejo")
    without_phone = {key: value for key, value in SUBMISSION.items() if key != "phone"}
    submitted = await submit(http, backend, without_phone, operator)
    control = await submit(http, backend, SUBMISSION | {"phone": "085700000603"}, operator)

    async def control_receipt() -> list[dict[str, Any]]:
        return await messages_to(http, backend, "+6285700000603", control["tracking_number"])

    await eventually(control_receipt, what="the receipt of the request with a phone")

    async def owed() -> list[dict[str, Any]] | None:
        client = new_mongo_client(backend.mongo_url)
        try:
            stored = await client["adminduk_notify"]["recipients"].find_one(
                {"_id": submitted["request_id"]}
            )
        finally:
            await client.close()
        return None if stored is None else stored.get("operator_notices")

    notices = await eventually(owed, what="the receipt owed to the operator")
    assert [notice["template"] for notice in notices] == ["request_received_documents_missing"]
    told = [
        entry
        for entry in await audit_entries(http, backend, subject=submitted["request_id"])
        if entry["event_type"] == NotificationSent.event_type
    ]
    assert told == []
    assert not [
        m for m in await sink_messages(http, backend) if submitted["tracking_number"] in m["text"]
    ]


async def test_a_supervisor_previews_a_template_with_its_segments(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await http.get(
        f"{backend.service_url('notify')}/v1/templates/case_completed/preview",
        params={"channel": "SMS"},
        headers=tokens("supervisor"),
    )

    assert response.status_code == 200, response.text
    assert response.json()["segments"] == 1
    assert "Nilai layanan kami:" in response.json()["text"]
