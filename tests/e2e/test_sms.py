"""The SMS channel on the running services: a feature phone applies and asks for the status, the
gateway's deliveries signed as it signs them, the answers sent by notify to the message sink."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from devstack.stack import Stack
from services.intake.conversations.routes import SMS_WEBHOOK_PATH as WEBHOOK_PATH
from services.notify.entrypoints.status_webhooks import SMS_PATH
from shared.events.models.requests import RequestSubmitted
from shared.gsm7 import segments
from shared.signatures import timestamped_signature
from tests.e2e.conftest import (
    audit_entries,
    last_bookable_day,
    messages_settled,
    sink_messages,
)
from tests.polling import eventually

PHONE = "+6285712340001"


class Gateway:
    """The SMS gateway: signs each delivery with the secret it shares with intake."""

    def __init__(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        *,
        sender: str = "0857-1234-0001",
        phone: str = PHONE,
    ) -> None:
        """`sender` is `phone` as the gateway may write it."""
        self.stack, self.http, self.sender, self.phone = stack, http, sender, phone
        self.secret = stack.service_secret("INTAKE_SMS_WEBHOOK_SECRET").encode()

    async def deliver(
        self, message_id: str, text: str, *, secret: bytes | None = None
    ) -> httpx.Response:
        body = json.dumps({"message_id": message_id, "from": self.sender, "text": text})
        timestamp = str(int(time.time()))
        return await self.http.post(
            f"{self.stack.service_url('intake')}{WEBHOOK_PATH}",
            content=body.encode(),
            headers={
                "Content-Type": "application/json",
                "X-Sms-Timestamp": timestamp,
                "X-Sms-Signature": timestamped_signature(
                    secret or self.secret, timestamp, body.encode()
                ),
            },
        )

    async def answers(self, containing: str, count: int = 1) -> list[str]:
        async def sent() -> list[str] | None:
            texts = [
                message["text"]
                for message in await sink_messages(self.http, self.stack)
                if message["to"] == self.phone
                and ":reply:" in message["reference"]
                and containing in message["text"]
            ]
            return texts if len(texts) >= count else None

        return await eventually(sent, what=f"an SMS answer with {containing!r}")


async def test_a_feature_phone_applies_by_sms_and_asks_for_the_status(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    gateway = Gateway(backend, http)

    applied = await gateway.deliver(
        "sms-e2e-1", "daftar ktp-cetak 3516091204800002 Siti Aminah#3516090101080001#hilang"
    )
    again = await gateway.deliver(
        "sms-e2e-1", "daftar ktp-cetak 3516091204800002 Siti Aminah#3516090101080001#hilang"
    )

    assert applied.status_code == again.status_code == 200
    [answer] = await gateway.answers("No lacak")
    assert segments(answer) == 1
    tracking_number = answer.split("No lacak ")[1][:8]

    async def submitted() -> dict[str, Any] | None:
        entries = await audit_entries(http, backend)
        return next(
            (
                entry
                for entry in entries
                if entry["event_type"] == RequestSubmitted.event_type
                and entry["data"]["actor"]["channel"] == "sms"
                and entry["data"]["service_code"] == "KTP_CETAK"
            ),
            None,
        )

    entry = await eventually(submitted, what="the SMS request in the audit log")
    assert entry["data"]["applicant"]["preferred_channel"] == "SMS"

    await gateway.deliver("sms-e2e-2", f"STATUS {tracking_number}")
    [status] = await gateway.answers(f"{tracking_number} (KTP_CETAK)")
    assert "diterima" in status or "diperiksa" in status
    # The redelivered application made no second request and no second answer.
    assert len(await gateway.answers("No lacak")) == 1


async def test_a_forged_delivery_is_refused_and_answered_nowhere(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    gateway = Gateway(backend, http)

    forged = await gateway.deliver("sms-e2e-forged", "BANTUAN", secret=b"not the secret")

    assert forged.status_code == 401
    assert forged.json()["error"] == "invalid_signature"
    await gateway.deliver("sms-e2e-3", "BANTUAN")
    [help_text] = await gateway.answers("DAFTAR <layanan>")
    assert segments(help_text) == 1
    assert len(await gateway.answers("DAFTAR <layanan>")) == 1


async def test_a_timestamp_not_in_ascii_digits_is_refused_by_both_sms_webhooks(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    """The byte 0xB2 reads as `²`: a digit to `str.isdigit`, but not to `int`."""
    deliveries = {
        f"{backend.service_url('intake')}{WEBHOOK_PATH}": {
            "message_id": "sms-e2e-b2",
            "from": PHONE,
            "text": "BANTUAN",
        },
        f"{backend.service_url('notify')}{SMS_PATH}": {
            "message_id": "sms-e2e-b2",
            "status": "DELIVERED",
            "at": "2025-06-18T16:22:53Z",
        },
    }
    for url, body in deliveries.items():
        response = await http.post(
            url,
            json=body,
            headers={b"X-Sms-Timestamp": b"\xb2", b"X-Sms-Signature": b"sha256=" + b"0" * 64},
        )

        assert response.status_code == 401, url
        assert response.json()["error"] == "invalid_signature"


async def test_each_command_that_makes_something_gets_one_sms(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    """`DAFTAR`, `JANJI` and `ADUAN` are each answered once, by the reply, which is the
    receipt: notify sends no receipt, confirmation or acknowledgement besides."""
    gateway = Gateway(backend, http, sender="0857-1234-0077", phone="+6285712340077")
    day = last_bookable_day()

    await gateway.deliver(
        "sms-e2e-one-1", "DAFTAR KK_HILANG 3516091204800077 Siti Aminah#3516090101080001#HILANG"
    )
    await gateway.deliver(
        "sms-e2e-one-2", f"JANJI KTP_REKAM {day:%d-%m-%Y} 3516091204800077 Siti Aminah"
    )
    await gateway.deliver("sms-e2e-one-3", "ADUAN PUNGLI petugas minta uang 50 ribu")

    [receipt] = await gateway.answers("No lacak")
    assert "Kirim ke desa/kantor/WA: Surat keterangan hilang dari kepolisian." in receipt
    [booked] = await gateway.answers("Janji ")
    [filed] = await gateway.answers("Aduan ADU-")
    assert all(segments(answer) == 1 for answer in (receipt, booked, filed))
    sent = await messages_settled(http, backend, gateway.phone)
    assert sorted(message["text"] for message in sent) == sorted([receipt, booked, filed])
