"""A citizen's WhatsApp conversation through the running backend: Meta's webhook deliveries in
the Cloud API's exact shape and signature, replies through notify to the message sink, the
photo put into the message sink and fetched by intake from its Graph API, and the request
submitted and audited."""

from __future__ import annotations

import re
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.requests import DocumentAttached, RequestSubmitted
from tests.documents import JPEG
from tests.e2e.conftest import (
    audit_entries,
    last_bookable_day,
    messages_settled,
    sign_in,
    sink_messages,
)
from tests.polling import eventually
from tests.whatsapp_webhooks import body_of, image, notification, signed, text

NIK = "3516091204800001"
WEBHOOK = "/v1/channels/whatsapp/webhook"


class Citizen:
    """One phone number writing to the office's WhatsApp number, as Meta delivers it."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack, sender: str, nik: str = NIK) -> None:
        self.http = http
        self.stack = stack
        self.sender = sender
        self.nik = nik
        self.phone = f"+{sender}"
        self.sent = 0

    async def deliver(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        body = body_of(payload)
        secret = self.stack.service_secret("INTAKE_WHATSAPP_APP_SECRET")
        return await self.http.post(
            f"{self.stack.service_url('intake')}{WEBHOOK}",
            content=body,
            headers=signed(body, secret) | headers,
        )

    async def say(self, message: dict[str, Any]) -> str:
        """Sends one message and returns the reply it gets at the message sink."""
        before = len(await self.replies())
        response = await self.deliver(notification(messages=[message]))
        assert response.status_code == 200, response.text

        async def reply() -> str | None:
            replies = await self.replies()
            return replies[before] if len(replies) > before else None

        return await eventually(reply, what="the reply at the message sink")

    async def replies(self) -> list[str]:
        """Intake's answers in the chat, not notify's own messages about the request."""
        return [
            message["text"]
            for message in await sink_messages(self.http, self.stack)
            if message["to"] == self.phone
            and message["channel"] == "WHATSAPP"
            and ":reply:" in message["reference"]
        ]

    def next_id(self) -> str:
        self.sent += 1
        return f"wamid.HBgN{self.sender}FQIAEhgU{self.sent:04d}"

    async def send_photo(self, content: bytes) -> str:
        """Sends a photo as WhatsApp does: its bytes to the Graph API (here the message sink),
        its media id in the webhook; returns the reply."""
        put = await self.http.post(
            f"{self.stack.message_sink_url}/v1/media",
            content=content,
            headers={"Content-Type": "image/jpeg"},
        )
        assert put.status_code == 201, put.text
        return await self.say(image(self.sender, self.next_id(), put.json()["id"]))

    async def apply_for_a_family_card(self) -> str:
        """Goes through the new family card's form, sends the marriage book's photo and
        confirms; returns the tracking number."""
        menu = await self.say(text(self.sender, self.next_id(), "Halo"))
        assert "GRATIS" in menu
        chosen = menu_number(menu, "Kartu Keluarga baru")
        assert "Ketik NIK" in await self.say(text(self.sender, self.next_id(), chosen))
        assert "nama lengkap" in await self.say(text(self.sender, self.next_id(), self.nik))
        assert "Alasan" in await self.say(text(self.sender, self.next_id(), "Siti Aminah"))
        assert "Alamat" in await self.say(text(self.sender, self.next_id(), "1"))
        asked = await self.say(text(self.sender, self.next_id(), "Jl. Majapahit 12, Sooko"))
        assert "Buku nikah" in asked
        summary = await self.send_photo(JPEG)
        assert "Buku nikah atau akta perkawinan sudah kami terima" in summary
        assert "Balas YA" in summary
        done = await self.say(text(self.sender, self.next_id(), "ya"))
        found = re.search(r"Nomor permohonan: ([0-9A-Z]{8})", done)
        assert found is not None, done
        assert "Perkiraan selesai:" in done
        assert "WIB" in done
        assert "GRATIS" in done
        return found.group(1)


def menu_number(menu: str, entry: str) -> str:
    match = re.search(rf"^(\d+)\. {re.escape(entry)}$", menu, re.MULTILINE)
    assert match is not None, menu
    return match.group(1)


async def test_a_whole_conversation_submits_a_request_the_citizen_then_sees(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    citizen = Citizen(http, backend, "6281311110001")

    tracking = await citizen.apply_for_a_family_card()

    intake = backend.service_url("intake")
    looked_up = await http.post(
        f"{intake}/v1/lookup", json={"tracking_number": tracking, "nik_last4": NIK[-4:]}
    )
    assert looked_up.status_code == 200, looked_up.text
    request = looked_up.json()
    assert request["service_code"] == "KK_BARU"
    assert request["missing_documents"] == []

    async def audited() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=request["request_id"])
        types = {entry["event_type"] for entry in entries}
        wanted = {RequestSubmitted.event_type, DocumentAttached.event_type}
        return entries if wanted <= types else None

    entries = await eventually(audited, what="the request's audit entries")
    [submitted] = [e for e in entries if e["event_type"] == RequestSubmitted.event_type]
    assert submitted["data"]["actor"]["kind"] == "citizen"
    assert submitted["data"]["actor"]["channel"] == "whatsapp"
    assert submitted["data"]["actor"]["id"].startswith("citizen-")
    assert NIK not in str(entries)
    assert "1311110001" not in str(entries)

    headers = await sign_in(http, backend, citizen.phone)
    own = await http.get(f"{intake}/v1/requests/{request['request_id']}", headers=headers)
    assert own.status_code == 200, own.text
    assert own.json()["tracking_number"] == tracking

    status = await citizen.say(text(citizen.sender, citizen.next_id(), f"STATUS {tracking}"))
    assert status.startswith("Permohonan Anda")
    # The chat's reply was the receipt: notify sent none, only the sign-in code asked for.
    sent = await messages_settled(http, backend, citizen.phone)
    assert [m for m in sent if ":reply:" not in m["reference"]] == [
        m for m in sent if "Kode masuk Adminduk" in m["text"]
    ]


async def test_a_visit_and_a_complaint_from_the_chat_are_answered_there_alone(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    """`JANJI` and `ADUAN` on WhatsApp get one WhatsApp reply each: no confirmation, no SMS."""
    citizen = Citizen(http, backend, "6281311110077")
    janji = f"JANJI KTP_REKAM {last_bookable_day():%d-%m-%Y} 3516091204800078 Budi Santoso"

    booked = await citizen.say(text(citizen.sender, citizen.next_id(), janji))
    filed = await citizen.say(text(citizen.sender, citizen.next_id(), "ADUAN LAMBAT antre lama"))

    assert booked.startswith("Janji ")
    assert filed.startswith("Aduan ADU-")
    sent = await messages_settled(http, backend, citizen.phone)
    assert [(m["channel"], m["text"]) for m in sent] == [
        ("WHATSAPP", booked),
        ("WHATSAPP", filed),
    ]


async def test_a_delivery_without_a_valid_signature_is_refused_and_changes_nothing(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    citizen = Citizen(http, backend, "6281311110002")
    payload = notification(messages=[text(citizen.sender, citizen.next_id(), "Halo")])
    body = body_of(payload)
    url = f"{backend.service_url('intake')}{WEBHOOK}"

    missing = await http.post(url, content=body, headers={"Content-Type": "application/json"})
    forged = await http.post(url, content=body, headers=signed(body, "not the app secret"))

    assert missing.status_code == forged.status_code == 401
    assert forged.json()["error"] == "invalid_signature"
    accepted = await citizen.deliver(payload)
    assert accepted.status_code == 200

    async def replies() -> list[str] | None:
        return await citizen.replies() or None

    [menu] = await eventually(replies, what="the reply to the signed delivery")
    assert "Balas dengan angka pilihan Anda" in menu


async def test_a_redelivered_message_takes_no_second_step_and_gets_no_second_reply(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    citizen = Citizen(http, backend, "6281311110003")
    menu = await citizen.say(text(citizen.sender, citizen.next_id(), "Halo"))
    choice = notification(
        messages=[text(citizen.sender, citizen.next_id(), menu_number(menu, "Akta kematian"))]
    )

    first = await citizen.deliver(choice)
    again = await citizen.deliver(choice)

    async def two_replies() -> list[str] | None:
        replies = await citizen.replies()
        return replies if len(replies) >= 2 else None

    await eventually(two_replies, what="the reply to the chosen service")
    help_reply = await citizen.say(text(citizen.sender, citizen.next_id(), "bantuan"))

    assert first.status_code == again.status_code == 200
    replies = await citizen.replies()
    assert len(replies) == 3, replies
    assert "Ketik NIK" in replies[1]
    assert "GRATIS" in help_reply
    assert help_reply.endswith("Ketik NIK pemohon: 16 angka yang tertera di KTP-el atau KK.")


async def test_the_verification_challenge_needs_the_verify_token(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    url = f"{backend.service_url('intake')}{WEBHOOK}"
    token = backend.service_secret("INTAKE_WHATSAPP_VERIFY_TOKEN")
    params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}

    answered = await http.get(url, params=params)
    refused = await http.get(url, params=params | {"hub.verify_token": "guess"})

    assert answered.status_code == 200
    assert answered.text == "1158201444"
    assert refused.status_code == 403
