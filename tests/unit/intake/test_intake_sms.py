"""The SMS channel through its webhook, as the gateway calls it, on fakes: signatures, every
command, redeliveries, and replies that fit one SMS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.appointments.service_points_file import load_service_points
from services.intake.bootstrap import create_app, token_signer
from services.intake.config import IntakeSettings
from services.intake.conversations.routes import SMS_WEBHOOK_PATH as WEBHOOK_PATH
from services.intake.domain import sms_replies
from services.intake.domain.citizen_request import RequestStatus
from shared.calendar import JAKARTA
from shared.events.models.appointments import AppointmentBooked
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.requests import RequestCancelled, RequestSubmitted
from shared.gsm7 import is_gsm7, segments
from shared.signatures import timestamped_signature
from tests.auth import STAFF_KEYS
from tests.fake_intake import CATALOGUE, SMS_SECRET, FakeIntake

SENDER = "+6281299990001"
SETTINGS = IntakeSettings(submissions_per_minute=10**6, lookups_per_minute=10**6)
APPLY = "DAFTAR KTP_CETAK 3516091204800001 Siti Aminah#3516090101080001#HILANG"


@dataclass
class Gateway:
    client: httpx.AsyncClient
    fakes: FakeIntake
    sent: int = 0

    async def deliver(
        self,
        text: str,
        *,
        message_id: str | None = None,
        sender: str = SENDER,
        secret: str = SMS_SECRET,
        skew_s: int = 0,
    ) -> httpx.Response:
        self.sent += 1
        body = json.dumps(
            {"message_id": message_id or f"sms-{self.sent}", "from": sender, "text": text}
        ).encode()
        timestamp = str(int(self.fakes.clock().timestamp()) + skew_s)
        return await self.client.post(
            WEBHOOK_PATH,
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Sms-Timestamp": timestamp,
                "X-Sms-Signature": timestamped_signature(secret.encode(), timestamp, body),
            },
        )

    def replies(self) -> list[str]:
        return [
            event.data["text"]
            for event in self.fakes.inbound.outbox
            if event.type == ConversationReply.event_type
        ]

    def last_reply(self) -> str:
        return self.replies()[-1]


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    fakes = FakeIntake(citizen_tokens=token_signer(SETTINGS, SETTINGS.cipher()))

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        fakes.install(app)
        yield {}

    app = create_app(SETTINGS, wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield Gateway(client=client, fakes=fakes)


async def test_a_second_application_while_the_first_is_open_gets_the_first_ones_number(
    gateway: Gateway,
) -> None:
    await gateway.deliver(APPLY)
    [request] = gateway.fakes.requests.requests.values()

    await gateway.deliver(APPLY.replace("HILANG", "RUSAK"))
    await gateway.deliver(APPLY, sender="+6281299990002")

    assert list(gateway.fakes.requests.requests.values()) == [request]
    own, other = gateway.replies()[1:]
    assert f"no lacak {request.tracking_number}" in own
    assert f"STATUS {request.tracking_number}" in own
    assert request.tracking_number not in other
    assert f"*****{request.tracking_number[-3:]}" in other


async def test_an_application_by_sms_is_submitted_and_answered_with_its_tracking_number(
    gateway: Gateway,
) -> None:
    response = await gateway.deliver(APPLY)

    assert response.status_code == 200
    [request] = gateway.fakes.requests.requests.values()
    assert request.service_code == "KTP_CETAK"
    assert request.form == {"family_card_number": "3516090101080001", "reason": "HILANG"}
    assert request.owner_phone == SENDER
    assert request.submitted_by.channel == "sms"
    reply = gateway.last_reply()
    assert request.tracking_number in reply
    assert request.expected_at.astimezone(JAKARTA).strftime("%d-%m-%Y") in reply
    assert "GRATIS" in reply
    assert segments(reply) == 1
    assert "Kirim ke desa/kantor/WA: Kartu Keluarga, KTP-el lama." in reply
    assert [event.type for event in gateway.fakes.requests.outbox] == [RequestSubmitted.event_type]
    [reply_event] = gateway.fakes.inbound.outbox
    assert reply_event.data["phone"] == SENDER
    assert reply_event.data["channel"] == "SMS"


async def test_what_a_command_made_is_answered_in_the_chat_alone(gateway: Gateway) -> None:
    """The reply is the receipt: each event says the chat answered, so notify sends none."""
    day = gateway.fakes.clock().astimezone(JAKARTA).date() + timedelta(days=1)

    await gateway.deliver(APPLY)
    await gateway.deliver(f"JANJI KTP_REKAM {day:%d-%m-%Y} 3516091204800001 Budi Santoso")
    await gateway.deliver("ADUAN PUNGLI petugas loket minta uang 50 ribu")

    events = [
        *gateway.fakes.requests.outbox,
        *gateway.fakes.appointments.outbox,
        *gateway.fakes.complaints.outbox,
    ]
    assert [event.type for event in events] == [
        RequestSubmitted.event_type,
        AppointmentBooked.event_type,
        ComplaintFiled.event_type,
    ]
    assert [event.data["acknowledged_on"] for event in events] == ["SMS"] * 3
    assert len(gateway.replies()) == 3


async def test_a_redelivered_message_changes_nothing_and_is_answered_once(
    gateway: Gateway,
) -> None:
    await gateway.deliver(APPLY, message_id="sms-77")
    again = await gateway.deliver(APPLY, message_id="sms-77")

    assert again.status_code == 200
    assert len(gateway.fakes.requests.requests) == 1
    assert len(gateway.replies()) == 1


async def test_a_message_handled_halfway_before_a_crash_makes_one_request(
    gateway: Gateway,
) -> None:
    """The gateway delivers again when the first delivery's handler died before it was marked
    handled: the application finds the first request by the message's idempotency key."""
    await gateway.deliver(APPLY, message_id="sms-88")
    gateway.fakes.inbound.handled_at["sms:sms-88"] = None

    await gateway.deliver(APPLY, message_id="sms-88")

    assert len(gateway.fakes.requests.requests) == 1


async def test_a_message_two_instances_took_at_once_is_answered_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's retry reached a second instance while the first was still handling the
    message: both pass `arrived`, only the one that marks it handled may send its reply."""
    await gateway.deliver(APPLY, message_id="sms-99")

    async def not_handled_yet(**_: Any) -> bool:
        return True

    monkeypatch.setattr(gateway.fakes.inbound, "arrived", not_handled_yet)
    await gateway.deliver(APPLY, message_id="sms-99")

    woken = gateway.fakes.outbox_ready.events
    assert [event.type for event in woken].count(ConversationReply.event_type) == 1
    assert len(gateway.replies()) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"secret": "not the gateway's secret"}, "wrong secret"),
        ({"skew_s": -301}, "too old"),
        ({"skew_s": 301}, "from the future"),
    ],
)
async def test_a_delivery_not_signed_now_with_the_secret_is_a_401_and_nothing_happens(
    gateway: Gateway, change: dict[str, Any], reason: str
) -> None:
    response = await gateway.deliver(APPLY, **change)

    assert response.status_code == 401, reason
    assert response.json()["error"] == "invalid_signature"
    assert gateway.fakes.requests.requests == {}
    assert gateway.fakes.inbound.handled_at == {}


async def test_an_unsigned_delivery_is_a_401(gateway: Gateway) -> None:
    response = await gateway.client.post(
        WEBHOOK_PATH, json={"message_id": "x", "from": SENDER, "text": "BANTUAN"}
    )

    assert response.status_code == 401


@pytest.mark.parametrize("timestamp", [b"\xb2", b"175026377\xb3", b"1" * 5000])
async def test_a_timestamp_not_in_ascii_digits_is_a_401_not_a_crash(
    gateway: Gateway, timestamp: bytes
) -> None:
    """The byte 0xB2 reads as `²`: a digit to `str.isdigit`, but not to `int`."""
    response = await gateway.client.post(
        WEBHOOK_PATH,
        json={"message_id": "x", "from": SENDER, "text": "BANTUAN"},
        headers={b"X-Sms-Timestamp": timestamp, b"X-Sms-Signature": b"sha256=" + b"0" * 64},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert gateway.fakes.inbound.handled_at == {}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"message_id": "x", "text": "BANTUAN"}', 422, "invalid_message"),
        (b'{"message_id": {"$ne": null}, "from": "x", "text": "a"}', 422, "invalid_message"),
        (b'{"message_id": "x", "from": "021555123", "text": "BANTUAN"}', 422, "invalid_sender"),
    ],
)
async def test_a_signed_delivery_that_is_not_a_message_is_refused_with_a_reason(
    gateway: Gateway, body: bytes, status: int, error: str
) -> None:
    timestamp = str(int(gateway.fakes.clock().timestamp()))
    response = await gateway.client.post(
        WEBHOOK_PATH,
        content=body,
        headers={
            "X-Sms-Timestamp": timestamp,
            "X-Sms-Signature": timestamped_signature(SMS_SECRET.encode(), timestamp, body),
        },
    )

    assert response.status_code == status
    assert response.json()["error"] == error
    assert gateway.fakes.inbound.handled_at == {}


async def test_status_is_told_to_the_owners_phone_or_with_the_niks_last_digits(
    gateway: Gateway,
) -> None:
    await gateway.deliver(APPLY)
    [request] = gateway.fakes.requests.requests.values()

    await gateway.deliver(f"status {request.tracking_number.lower()}")
    by_owner = gateway.last_reply()
    await gateway.deliver(f"STATUS {request.tracking_number}", sender="+6281299990002")
    by_stranger = gateway.last_reply()
    await gateway.deliver(f"STATUS {request.tracking_number} 0001", sender="+6281299990002")
    with_digits = gateway.last_reply()

    assert by_owner == sms_replies.status(
        request.tracking_number, "KTP_CETAK", RequestStatus.SUBMITTED
    )
    assert "tidak ditemukan" in by_stranger
    assert with_digits == by_owner


async def test_the_owner_withdraws_a_request_by_sms(gateway: Gateway) -> None:
    await gateway.deliver(APPLY)
    [request] = gateway.fakes.requests.requests.values()

    await gateway.deliver(f"BATAL {request.tracking_number}", sender="+6281299990002")
    by_stranger = gateway.last_reply()
    await gateway.deliver(f"BATAL {request.tracking_number}")

    assert "tidak ditemukan" in by_stranger
    assert gateway.last_reply() == sms_replies.withdrawn(request.tracking_number)
    assert [event.type for event in gateway.fakes.requests.outbox] == [
        RequestSubmitted.event_type,
        RequestCancelled.event_type,
    ]


async def test_a_wrong_application_is_answered_with_what_is_wrong(gateway: Gateway) -> None:
    await gateway.deliver("DAFTAR KTP_CETAK 3516091204800001 Siti Aminah#123#HILANG")
    await gateway.deliver("DAFTAR KTP_REKAM 3516091204800001 Siti Aminah")
    await gateway.deliver("MINTA KTP")

    wrong_card, in_person, unknown = gateway.replies()
    assert "Nomor KK harus terdiri dari 16 angka" in wrong_card
    assert "langsung di kantor" in in_person or "JANJI" in in_person
    assert "BANTUAN" in unknown
    assert gateway.fakes.requests.requests == {}


async def test_a_visit_is_booked_by_sms_on_the_day_asked(gateway: Gateway) -> None:
    day = gateway.fakes.clock().astimezone(JAKARTA).date() + timedelta(days=1)

    await gateway.deliver(f"JANJI KTP_REKAM {day:%d-%m-%Y} 3516091204800001 Budi Santoso")

    [appointment] = gateway.fakes.appointments.appointments.values()
    assert appointment.starts_at.astimezone(JAKARTA).date() == day
    assert appointment.booking_number in gateway.last_reply()
    assert appointment.booked_by.channel == "sms"


async def test_a_visit_asked_for_on_a_sunday_is_answered_with_free_days(gateway: Gateway) -> None:
    today = gateway.fakes.clock().astimezone(JAKARTA).date()
    sunday = today + timedelta(days=6 - today.weekday())

    await gateway.deliver(f"JANJI KTP_REKAM {sunday:%d-%m-%Y} 3516091204800001 Budi Santoso")

    assert gateway.fakes.appointments.appointments == {}
    assert "Ada tempat" in gateway.last_reply()


async def test_a_complaint_by_sms_gets_a_complaint_number(gateway: Gateway) -> None:
    await gateway.deliver("ADUAN PUNGLI petugas loket minta uang 50 ribu")

    [complaint] = gateway.fakes.complaints.complaints.values()
    assert complaint.complaint_number in gateway.last_reply()
    assert complaint.category == "ILLEGAL_FEE"


async def lock_out(gateway: Gateway, phone: str = SENDER) -> None:
    """Five wrong codes from a stranger's browser lock the phone out."""
    asked = await gateway.client.post("/v1/auth/otp", json={"phone": phone, "channel": "SMS"})
    assert asked.status_code == 202, asked.text
    code = SignInCodeRequested.model_validate(gateway.fakes.sign_ins.outbox[-1].data).code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    statuses = [
        (
            await gateway.client.post("/v1/auth/otp/verify", json={"phone": phone, "code": wrong})
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 429]


async def new_code(gateway: Gateway, phone: str = SENDER) -> tuple[str, dict[str, Any]]:
    gateway.fakes.clock.advance(timedelta(minutes=1))
    asked = await gateway.client.post("/v1/auth/otp", json={"phone": phone, "channel": "SMS"})
    assert asked.status_code == 202, asked.text
    event = SignInCodeRequested.model_validate(gateway.fakes.sign_ins.outbox[-1].data)
    return event.code, asked.json()


async def test_the_code_sent_back_from_the_phone_ends_its_lockout(gateway: Gateway) -> None:
    await lock_out(gateway)
    code, sent = await new_code(gateway)
    refused = await gateway.client.post("/v1/auth/otp/verify", json={"phone": SENDER, "code": code})

    await gateway.deliver(f"masuk {code}")
    fresh, after = await new_code(gateway)
    signed_in = await gateway.client.post(
        "/v1/auth/otp/verify", json={"phone": SENDER, "code": fresh}
    )

    assert sent["locked_until"] is not None
    assert refused.status_code == 429
    assert gateway.last_reply() == sms_replies.PHONE_PROVEN
    assert after["locked_until"] is None
    assert signed_in.status_code == 200


async def test_the_code_sent_back_from_another_phone_ends_nothing(gateway: Gateway) -> None:
    await lock_out(gateway)
    code, _ = await new_code(gateway)

    await gateway.deliver(f"MASUK {code}", sender="+6281299990002")
    _, after = await new_code(gateway)

    assert gateway.last_reply() == sms_replies.PROOF_REFUSED
    assert after["locked_until"] is not None


async def test_a_wrong_code_sent_back_spends_the_code(gateway: Gateway) -> None:
    await lock_out(gateway)
    code, _ = await new_code(gateway)

    await gateway.deliver(f"MASUK {(int(code) + 1) % 10**6:06d}")
    await gateway.deliver(f"MASUK {code}")
    _, after = await new_code(gateway)

    assert gateway.replies()[-2:] == [sms_replies.PROOF_REFUSED, sms_replies.PROOF_REFUSED]
    assert after["locked_until"] is not None


async def test_help_lists_the_commands_and_each_services_fields(gateway: Gateway) -> None:
    await gateway.deliver("BANTUAN")
    await gateway.deliver("bantuan ktp-cetak")

    general, service = gateway.replies()
    for keyword in ("DAFTAR", "STATUS", "BATAL", "JANJI", "ADUAN"):
        assert keyword in general
    assert service.startswith("DAFTAR KTP_CETAK <NIK> <nama>#noKK#HILANG/RUSAK/PERUBAHAN_DATA")


def test_every_reply_fits_one_gsm7_segment_with_realistic_values() -> None:
    expected = FakeIntake(citizen_tokens=token_signer(SETTINGS, SETTINGS.cipher())).clock()
    longest_point = max((point.name for point in load_service_points(CATALOGUE).all()), key=len)
    replies = [
        sms_replies.GENERAL_HELP,
        sms_replies.received("PINDAH_KELUAR", "K7M2Q9XP", expected, []),
        *(
            sms_replies.received(
                service.code,
                "K7M2Q9XP",
                expected,
                [service.document_name(code) for code in service.mandatory_documents],
            )
            for service in CATALOGUE.all()
            if len(service.mandatory_documents) == 1
        ),
        *(sms_replies.status("K7M2Q9XP", "PINDAH_DATANG", status) for status in RequestStatus),
        sms_replies.withdrawn("K7M2Q9XP"),
        sms_replies.already_open("PINDAH_KELUAR", "K7M2Q9XP", shown=True),
        sms_replies.already_open("PINDAH_KELUAR", "*****9XP", shown=False),
        *(sms_replies.not_withdrawable("K7M2Q9XP", status) for status in RequestStatus),
        sms_replies.not_found("K7M2Q9XP"),
        sms_replies.booked("K7M2Q9XP", "Selasa, 29 September 2026, 08.00-09.00 WIB", longest_point),
        sms_replies.complaint_filed("ADU-K7M2Q9XP"),
        sms_replies.PHONE_PROVEN,
        sms_replies.PROOF_REFUSED,
        *(
            sms_replies.service_help(service)
            for service in CATALOGUE.all()
            if service.code != "PINDAH_KELUAR"
        ),
    ]

    too_long = [reply for reply in replies if segments(reply) > 1 or not is_gsm7(reply)]
    assert not too_long
    assert segments(sms_replies.service_help(CATALOGUE.get("PINDAH_KELUAR"))) <= 2


def test_a_receipt_naming_several_missing_documents_takes_two_segments_at_most() -> None:
    expected = FakeIntake(citizen_tokens=token_signer(SETTINGS, SETTINGS.cipher())).clock()
    receipts = [
        sms_replies.received(
            service.code,
            "K7M2Q9XP",
            expected,
            [service.document_name(code) for code in sorted(service.mandatory_documents)],
        )
        for service in CATALOGUE.all()
        if len(service.mandatory_documents) > 1
    ]

    assert receipts
    assert all(segments(receipt) <= 2 and is_gsm7(receipt) for receipt in receipts)
