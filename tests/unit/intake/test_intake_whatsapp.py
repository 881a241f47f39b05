"""The WhatsApp webhook: its signature, the Cloud API's payloads, each message taken once as
one step of its sender's conversation, with the reply queued for notify, and each delivery
status of the office's messages passed on to notify once."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from pymongo.errors import AutoReconnect

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import citizen_subject
from services.intake.bootstrap import create_app
from services.intake.config import IntakeSettings
from services.intake.conversations.domain import Conversation, Text, Unsupported
from services.intake.conversations.routes import WHATSAPP_WEBHOOK_PATH as WEBHOOK_PATH
from services.intake.conversations.routes import WhatsAppContext
from services.intake.conversations.service_layer import (
    ConversationContext,
    DeliveryReportContext,
    MediaRef,
    pass_on_report,
)
from services.intake.conversations.views import PROVIDER_ACTOR, parse_messages, parse_statuses
from services.intake.domain import sms_replies
from services.intake.domain.sign_in import SignInChallenge
from shared.calendar import JAKARTA, WorkingCalendar
from shared.dependencies import provide
from shared.events.envelope import ActorKind, Channel, CloudEvent
from shared.events.models.appointments import AppointmentBooked
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply, DeliveryReported
from shared.events.models.requests import DocumentAttached, RequestSubmitted
from shared.events.models.values import DeliveryChannel, DeliveryStatus, NotificationChannel
from shared.http.app import ReadinessCheck
from shared.wib import moment_label
from tests.auth import STAFF_KEYS
from tests.builders import T0, cipher
from tests.documents import JPEG, PDF
from tests.fake_intake import FakeIntake
from tests.fakes import (
    CallCounter,
    FakeClock,
    FakeDocumentStore,
    FakeIdempotencyKeys,
    FakeRequestRepository,
)
from tests.fakes_conversations import (
    FakeConversationRepository,
    FakeInboundMessages,
    FakeMediaSource,
)
from tests.whatsapp_webhooks import (
    body_of,
    button_reply,
    document,
    image,
    list_reply,
    notification,
    of_type,
    signed,
    status,
    text,
)

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
SENDER = "6281234567890"
PHONE = "+6281234567890"
NIK = "3516091204800001"
WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDNDU3NUY1RTMxRjlGMzQ2NzUA"
KEY = "evt-1:citizen:WHATSAPP"
UNDELIVERABLE = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {"details": "Message Undeliverable."},
}


class FlakyInbound(FakeInboundMessages):
    """Fails the next mark of a handled delivery, like a database that dropped the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next = False

    async def handled(
        self,
        *,
        provider: str,
        message_id: str,
        now: datetime,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        if self.fail_next:
            self.fail_next = False
            raise AutoReconnect("connection lost")
        return await super().handled(
            provider=provider, message_id=message_id, now=now, outbox=outbox
        )


class FlakyConversations(FakeConversationRepository):
    """Fails the next save after taking it, like a database that stored it and then dropped
    the connection; or before taking it."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next: str | None = None

    async def save(
        self,
        phone: str,
        conversation: Conversation,
        *,
        version: int,
        handled: Sequence[str],
        outbox: Sequence[Any],
    ) -> bool:
        failure, self.fail_next = self.fail_next, None
        if failure == "before":
            raise AutoReconnect("connection lost")
        saved = await super().save(
            phone, conversation, version=version, handled=handled, outbox=outbox
        )
        if failure == "after":
            raise AutoReconnect("connection lost")
        return saved


@dataclass
class WhatsApp:
    client: httpx.AsyncClient
    conversations: FlakyConversations
    inbound: FlakyInbound
    media: FakeMediaSource
    requests: FakeRequestRepository
    documents: FakeDocumentStore
    replies_ready: CallCounter
    statuses_ready: CallCounter
    clock: FakeClock
    elsewhere: FakeIntake
    """Visits and complaints, which `JANJI` and `ADUAN` reach."""

    async def deliver(self, payload: dict[str, Any]) -> httpx.Response:
        body = body_of(payload)
        return await self.client.post(WEBHOOK_PATH, content=body, headers=signed(body, APP_SECRET))

    async def say(self, *messages: dict[str, Any]) -> httpx.Response:
        response = await self.deliver(notification(messages=list(messages)))
        assert response.status_code == 200, response.text
        return response

    @property
    def replies(self) -> list[ConversationReply]:
        return [ConversationReply.model_validate(event.data) for event in self.conversations.outbox]

    @property
    def reported(self) -> list[DeliveryReported]:
        """What was queued for notify in the inbound-messages store, in order."""
        return [DeliveryReported.model_validate(event.data) for event in self.inbound.outbox]

    def menu_number(self, entry: str) -> str:
        match = re.search(rf"^(\d+)\. {re.escape(entry)}$", self.replies[-1].text, re.MULTILINE)
        assert match is not None, self.replies[-1].text
        return match.group(1)


@asynccontextmanager
async def running_whatsapp() -> AsyncIterator[WhatsApp]:
    conversations = FlakyConversations()
    inbound = FlakyInbound()
    media = FakeMediaSource()
    requests = FakeRequestRepository()
    documents = FakeDocumentStore()
    replies_ready = CallCounter()
    conversations.outgoing.register(replies_ready)
    statuses_ready = CallCounter()
    inbound.outgoing.register(statuses_ready)
    clock = FakeClock(T0)
    elsewhere = FakeIntake(requests=requests, clock=clock)

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            WhatsAppContext(
                app_secret=APP_SECRET.encode(),
                verify_token=VERIFY_TOKEN,
                conversations=ConversationContext(
                    conversations=conversations,
                    inbound=inbound,
                    media=media,
                    requests=requests,
                    idempotency_keys=FakeIdempotencyKeys(),
                    documents=documents,
                    catalogue=load_catalogue(),
                    calendar=WorkingCalendar(),
                    citizen_id=partial(citizen_subject, cipher()),
                    commands=elsewhere.commands(),
                ),
                reports=DeliveryReportContext(inbound=inbound),
                clock=clock,
            ),
        )
        yield {}

    app = create_app(IntakeSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://intake.test",
        ) as client,
    ):
        yield WhatsApp(
            client=client,
            conversations=conversations,
            inbound=inbound,
            media=media,
            requests=requests,
            documents=documents,
            replies_ready=replies_ready,
            statuses_ready=statuses_ready,
            clock=clock,
            elsewhere=elsewhere,
        )


@pytest.fixture
async def whatsapp() -> AsyncIterator[WhatsApp]:
    async with running_whatsapp() as running:
        yield running


async def fill_in_kk_baru(whatsapp: WhatsApp, *, first: int = 1) -> None:
    """From the first message to the summary of a KK_BARU request with its one document; the
    messages' ids count from `first`."""

    def message(offset: int, typed: str) -> dict[str, Any]:
        return text(SENDER, f"wamid.{first + offset}", typed)

    await whatsapp.say(message(0, "Halo"))
    await whatsapp.say(message(1, whatsapp.menu_number("Kartu Keluarga baru")))
    await whatsapp.say(message(2, NIK))
    await whatsapp.say(message(3, "Siti Aminah"))
    await whatsapp.say(message(4, "1"))
    await whatsapp.say(message(5, "Jl. Majapahit 12, Sooko"))
    whatsapp.media.files["1481960382637145"] = JPEG
    await whatsapp.say(image(SENDER, f"wamid.{first + 6}", "1481960382637145"))


# The signature


# The Cloud API's payloads


def test_a_text_message_is_read_with_its_sender_in_e164() -> None:
    [message] = parse_messages(body_of(notification(messages=[text(SENDER, "wamid.1", "Halo")])))

    inbound = message.inbound()
    assert inbound.provider == "whatsapp"
    assert inbound.message_id == "wamid.1"
    assert inbound.phone == PHONE
    assert inbound.channel is NotificationChannel.WHATSAPP
    assert inbound.content == Text("Halo")


def test_button_and_list_replies_are_read_as_the_chosen_id() -> None:
    payload = notification(
        messages=[
            button_reply(SENDER, "wamid.1", "YA", "Ya, kirim"),
            list_reply(SENDER, "wamid.2", "4", "Kartu Keluarga baru"),
        ]
    )

    contents = [message.inbound().content for message in parse_messages(body_of(payload))]

    assert contents == [Text("YA"), Text("4")]


def test_photos_and_documents_are_read_as_their_media_ids() -> None:
    payload = notification(
        messages=[image(SENDER, "wamid.1", "1481960382637145"), document(SENDER, "wamid.2", "987")]
    )

    contents = [message.inbound().content for message in parse_messages(body_of(payload))]

    assert contents == [MediaRef("1481960382637145"), MediaRef("987")]


def test_status_updates_hold_no_messages() -> None:
    payload = notification(statuses=[status(SENDER, "wamid.out.1"), status(SENDER, "wamid.out.2")])

    assert parse_messages(body_of(payload)) == []


def test_kinds_a_form_cannot_use_are_read_as_unsupported_and_reactions_dropped() -> None:
    payload = notification(
        messages=[
            of_type(SENDER, "wamid.1", "audio", audio={"id": "55", "mime_type": "audio/ogg"}),
            of_type(SENDER, "wamid.2", "sticker", sticker={"id": "56", "animated": False}),
            of_type(SENDER, "wamid.3", "location", location={"latitude": -7.5, "longitude": 112.4}),
            of_type(SENDER, "wamid.4", "reaction", reaction={"message_id": "x", "emoji": "👍"}),
            of_type(SENDER, "wamid.5", "unsupported", errors=[{"code": 131051}]),
        ]
    )

    contents = [message.inbound().content for message in parse_messages(body_of(payload))]

    assert contents == [Unsupported("audio"), Unsupported("sticker"), Unsupported("location"),
                        Unsupported("unsupported")]  # fmt: skip


def test_several_messages_and_unknown_fields_are_read_in_order() -> None:
    payload = notification(
        messages=[text(SENDER, "wamid.1", "Halo"), text("6285700000001", "wamid.2", "Pagi")]
    )
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {"forwarded": True}
    payload["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "X"}})
    payload["entry"][0]["time"] = 1740965400

    messages = parse_messages(body_of(payload))

    assert [(m.inbound().phone, m.inbound().content) for m in messages] == [
        (PHONE, Text("Halo")),
        ("+6285700000001", Text("Pagi")),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        lambda p: p.update(object="page"),
        lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].pop("text"),
        lambda p: p["entry"][0]["changes"][0]["value"]["messages"][0].update({"from": "+62 81"}),
        lambda p: p["entry"][0]["changes"][0]["value"].pop("metadata"),
        lambda p: p.pop("entry"),
    ],
    ids=["not-whatsapp", "text-without-body", "bad-sender", "no-metadata", "no-entry"],
)
def test_a_payload_not_of_the_documented_shape_is_refused(broken: Any) -> None:
    payload = notification(messages=[text(SENDER, "wamid.1", "Halo")])
    broken(payload)

    with pytest.raises(ValidationError):
        parse_messages(body_of(payload))


def test_meta_documented_statuses_are_read_with_the_key_and_error() -> None:
    sent = status(
        "16505551234",
        WAMID,
        "sent",
        timestamp="1750263773",
        biz_opaque_callback_data=KEY,
        conversation={
            "id": "CONVERSATION_ID",
            "expiration_timestamp": "1750349153",
            "origin": {"type": "utility"},
        },
        pricing={"billable": True, "pricing_model": "PMP", "category": "utility"},
    )
    read = status("16505551234", WAMID, "read")
    failed = status("16505551234", WAMID, "failed", errors=[UNDELIVERABLE])
    del failed["conversation"], failed["pricing"]

    reports = parse_statuses(body_of(notification(statuses=[sent, read, failed])))

    assert [report.status for report in reports] == [
        DeliveryStatus.SENT,
        DeliveryStatus.READ,
        DeliveryStatus.FAILED,
    ]
    assert {report.channel for report in reports} == {DeliveryChannel.WHATSAPP}
    assert {report.provider_message_id for report in reports} == {WAMID}
    assert {report.subject for report in reports} == {WAMID}
    assert reports[0].idempotency_key == KEY
    assert reports[0].at == datetime(2025, 6, 18, 16, 22, 53, tzinfo=UTC)
    assert reports[1].idempotency_key is None
    assert (reports[2].error_code, reports[2].error_title) == ("131026", "Message undeliverable")
    assert reports[0].actor.kind is ActorKind.PROVIDER
    assert all("16505551234" not in report.model_dump_json() for report in reports)


def test_citizens_messages_other_fields_and_unknown_statuses_are_left_alone() -> None:
    payload = notification(messages=[text(SENDER, "wamid.in", "Halo")])
    payload["entry"][0]["changes"].append(
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}}
    )
    moved = notification(statuses=[status(SENDER, WAMID, "read")])
    moved["entry"][0]["changes"][0]["field"] = "statuses_v2"

    assert parse_statuses(body_of(payload)) == []
    assert parse_statuses(body_of(notification(statuses=[status(SENDER, WAMID, "deleted")]))) == []
    assert parse_statuses(body_of(moved)) == []


@pytest.mark.parametrize(
    "broken",
    [
        lambda s: s.pop("id"),
        lambda s: s.update(timestamp="yesterday"),
        lambda s: s.update(errors=[{"title": "no code"}]),
    ],
    ids=["no-id", "bad-timestamp", "error-without-code"],
)
def test_a_status_not_of_the_documented_shape_is_refused(broken: Any) -> None:
    item = status(SENDER, WAMID, "failed", errors=[UNDELIVERABLE])
    broken(item)

    with pytest.raises(ValidationError):
        parse_statuses(body_of(notification(statuses=[item])))


def test_a_failure_with_a_code_but_no_title_is_still_passed_on() -> None:
    """Older API versions send the code alone; a failure is worth more than its wording."""
    item = status(SENDER, WAMID, "failed", errors=[{"code": 131026}])

    (report,) = parse_statuses(body_of(notification(statuses=[item])))

    assert (report.error_code, report.error_title) == ("131026", None)


# The webhook


async def test_the_verification_challenge_is_answered_for_the_verify_token(
    whatsapp: WhatsApp,
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }

    response = await whatsapp.client.get(WEBHOOK_PATH, params=params)

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("params", "status_code"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"}, 403),
        ({"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}, 403),
        ({"hub.mode": "subscribe", "hub.challenge": "1"}, 422),
    ],
)
async def test_a_challenge_without_the_verify_token_is_refused(
    whatsapp: WhatsApp, params: dict[str, str], status_code: int
) -> None:
    response = await whatsapp.client.get(WEBHOOK_PATH, params=params)

    assert response.status_code == status_code


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    ],
    ids=["missing", "wrong"],
)
async def test_a_delivery_without_a_valid_signature_is_refused_and_changes_nothing(
    whatsapp: WhatsApp, headers: dict[str, str]
) -> None:
    body = body_of(notification(messages=[text(SENDER, "wamid.1", "Halo")]))

    response = await whatsapp.client.post(WEBHOOK_PATH, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert whatsapp.inbound.handled_at == {}
    assert whatsapp.conversations.conversations == {}


async def test_a_signed_body_that_is_not_json_gets_400_with_the_reason(
    whatsapp: WhatsApp,
) -> None:
    for body in (b'{"object": "whatsapp_business_account", "entry": [', b"\xff\xfe", b""):
        response = await whatsapp.client.post(
            WEBHOOK_PATH, content=body, headers=signed(body, APP_SECRET)
        )

        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_json"
        assert "line 1 column" in response.json()["message"]
    assert whatsapp.conversations.conversations == {}


async def test_signed_json_that_is_not_a_notification_gets_422_naming_where(
    whatsapp: WhatsApp,
) -> None:
    payload = notification(messages=[text(SENDER, "wamid.1", "Halo")])
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]

    for body in (b"[]", body_of(payload)):
        response = await whatsapp.client.post(
            WEBHOOK_PATH, content=body, headers=signed(body, APP_SECRET)
        )

        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_notification"
    assert "entry.0.changes.0" in response.json()["message"]
    assert whatsapp.conversations.conversations == {}
    assert whatsapp.inbound.handled_at == {}


async def test_each_new_status_is_passed_on_once_without_the_recipients_number(
    whatsapp: WhatsApp,
) -> None:
    delivered = status(SENDER, WAMID, "delivered", biz_opaque_callback_data=KEY)
    read = status(SENDER, WAMID, "read", biz_opaque_callback_data=KEY)

    first = await whatsapp.deliver(notification(statuses=[delivered, read]))
    again = await whatsapp.deliver(notification(statuses=[read, delivered]))

    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() == {"messages": 0, "statuses": 2}
    assert [(item.status, item.idempotency_key) for item in whatsapp.reported] == [
        (DeliveryStatus.DELIVERED, KEY),
        (DeliveryStatus.READ, KEY),
    ]
    assert [event.subject for event in whatsapp.inbound.outbox] == [WAMID, WAMID]
    assert {event.type for event in whatsapp.inbound.outbox} == {DeliveryReported.event_type}
    assert whatsapp.statuses_ready.keys == [
        f"whatsapp-status:{WAMID}:delivered",
        f"whatsapp-status:{WAMID}:read",
    ]
    queued = b"".join(event.to_json_bytes() for event in whatsapp.inbound.outbox)
    assert SENDER.encode() not in queued
    assert whatsapp.conversations.conversations == {}
    assert whatsapp.replies == []


async def test_unknown_statuses_are_acknowledged_and_change_nothing(whatsapp: WhatsApp) -> None:
    response = await whatsapp.deliver(notification(statuses=[status(SENDER, WAMID, "deleted")]))

    assert response.status_code == 200
    assert response.json() == {"messages": 0, "statuses": 0}
    assert whatsapp.inbound.handled_at == {}
    assert whatsapp.statuses_ready.calls == 0


async def test_a_badly_signed_status_is_refused_and_stores_nothing(whatsapp: WhatsApp) -> None:
    body = body_of(notification(statuses=[status(SENDER, WAMID, "failed")]))

    response = await whatsapp.client.post(
        WEBHOOK_PATH, content=body, headers=signed(body, "not-the-app-secret")
    )

    assert response.status_code == 401
    assert whatsapp.inbound.handled_at == {}
    assert whatsapp.inbound.outbox == []


async def test_a_malformed_status_refuses_the_whole_delivery_naming_where(
    whatsapp: WhatsApp,
) -> None:
    broken = status(SENDER, WAMID, "read")
    del broken["timestamp"]
    payload = notification(
        messages=[text(SENDER, "wamid.1", "Halo")],
        statuses=[status(SENDER, WAMID, "delivered"), broken],
    )

    response = await whatsapp.deliver(payload)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_notification"
    assert "entry.0.changes.0" in response.json()["message"]
    assert whatsapp.inbound.handled_at == {}
    assert whatsapp.conversations.conversations == {}


async def test_a_status_not_stored_is_answered_503_and_passed_on_once_when_delivered_again(
    whatsapp: WhatsApp,
) -> None:
    payload = notification(statuses=[status(SENDER, WAMID, "delivered")])

    whatsapp.inbound.fail_next = True
    failed = await whatsapp.deliver(payload)
    retried = await whatsapp.deliver(payload)
    repeated = await whatsapp.deliver(payload)

    assert failed.status_code == 503
    assert retried.status_code == repeated.status_code == 200
    assert [item.status for item in whatsapp.reported] == [DeliveryStatus.DELIVERED]


async def test_messages_and_statuses_of_one_delivery_are_both_taken(whatsapp: WhatsApp) -> None:
    payload = notification(
        messages=[text(SENDER, "wamid.1", "Halo")], statuses=[status(SENDER, WAMID, "read")]
    )

    response = await whatsapp.deliver(payload)

    assert response.json() == {"messages": 1, "statuses": 1}
    assert len(whatsapp.replies) == 1
    assert [item.status for item in whatsapp.reported] == [DeliveryStatus.READ]


async def test_each_message_gets_one_reply_through_the_outbox(whatsapp: WhatsApp) -> None:
    response = await whatsapp.say(text(SENDER, "wamid.1", "Halo"))

    assert response.json() == {"messages": 1, "statuses": 0}
    [reply] = whatsapp.replies
    assert reply.phone == PHONE
    assert reply.channel is NotificationChannel.WHATSAPP
    assert reply.in_reply_to == "wamid.1"
    assert "Balas dengan angka pilihan Anda" in reply.text
    assert reply.actor.kind is ActorKind.SYSTEM
    assert reply.actor.channel is Channel.WHATSAPP
    assert whatsapp.replies_ready.keys == [whatsapp.conversations.document_id(PHONE)]


async def test_a_redelivered_message_takes_no_second_step_and_gets_no_second_reply(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    payload = notification(
        messages=[text(SENDER, "wamid.2", whatsapp.menu_number("Akta kematian"))]
    )

    first = await whatsapp.deliver(payload)
    again = await whatsapp.deliver(payload)

    assert first.status_code == again.status_code == 200
    assert len(whatsapp.replies) == 2
    stored = whatsapp.conversations.conversations[PHONE]
    assert stored.conversation is not None
    assert stored.conversation.service_code == "AKTA_MATI"
    assert stored.handled == ("wamid.1", "wamid.2")


async def test_several_messages_of_one_delivery_are_taken_in_order(whatsapp: WhatsApp) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    number = whatsapp.menu_number("Kartu Keluarga baru")

    await whatsapp.say(
        list_reply(SENDER, "wamid.2", number, "KK baru"), text(SENDER, "wamid.3", NIK)
    )

    assert [reply.in_reply_to for reply in whatsapp.replies] == ["wamid.1", "wamid.2", "wamid.3"]
    assert "Ketik nama lengkap" in whatsapp.replies[-1].text


async def test_an_unsupported_message_gets_a_polite_reply_and_a_reaction_none(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.say(of_type(SENDER, "wamid.1", "sticker", sticker={"id": "1"}))
    await whatsapp.say(of_type(SENDER, "wamid.2", "reaction", reaction={"emoji": "👍"}))

    [reply] = whatsapp.replies
    assert reply.text.startswith("Maaf, kami hanya dapat membaca pesan teks")


async def test_a_whole_conversation_submits_the_request_with_its_document(
    whatsapp: WhatsApp,
) -> None:
    await fill_in_kk_baru(whatsapp)
    assert "Periksa kembali pengajuan Anda" in whatsapp.replies[-1].text

    await whatsapp.say(text(SENDER, "wamid.8", "YA"))

    [request] = whatsapp.requests.requests.values()
    assert request.service_code == "KK_BARU"
    assert request.applicant.nik == NIK
    assert request.applicant.phone == PHONE
    assert request.owner_phone == PHONE
    assert request.form == {"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"}
    assert request.submitted_by.kind is ActorKind.CITIZEN
    assert request.submitted_by.channel is Channel.WHATSAPP
    assert request.submitted_by.id == citizen_subject(cipher(), PHONE)
    assert set(request.documents) == {"BUKU_NIKAH"}
    [(stored, content)] = [
        found
        for document_id in request.documents.values()
        if (found := await whatsapp.documents.read(document_id)) is not None
    ]
    assert content == JPEG
    assert stored.media_type.value == "image/jpeg"
    types = [event.type for event in whatsapp.requests.outbox]
    assert types == [RequestSubmitted.event_type, DocumentAttached.event_type]
    submitted = RequestSubmitted.model_validate(whatsapp.requests.outbox[0].data)
    assert submitted.acknowledged_on == "WHATSAPP"
    reply = whatsapp.replies[-1].text
    assert f"Nomor permohonan: {request.tracking_number}" in reply
    assert f"Perkiraan selesai: {moment_label(request.expected_at)}." in reply
    assert "GRATIS" in reply
    assert "belum kami terima" not in reply
    assert whatsapp.conversations.held == {}


async def test_a_second_application_while_the_first_is_open_is_answered_with_its_number(
    whatsapp: WhatsApp,
) -> None:
    await fill_in_kk_baru(whatsapp)
    await whatsapp.say(text(SENDER, "wamid.8", "YA"))
    [request] = whatsapp.requests.requests.values()

    await fill_in_kk_baru(whatsapp, first=9)
    await whatsapp.say(text(SENDER, "wamid.16", "YA"))

    assert list(whatsapp.requests.requests.values()) == [request]
    reply = whatsapp.replies[-1].text
    assert "masih memiliki permohonan Kartu Keluarga baru" in reply
    assert f"STATUS {request.tracking_number}" in reply
    assert whatsapp.conversations.held == {}


async def test_the_submission_of_a_conversation_that_sent_every_document_misses_none(
    whatsapp: WhatsApp,
) -> None:
    """Notify's receipt names what RequestSubmitted says is missing: the files the chat held
    must already count then, or the citizen is asked for papers they sent."""
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    await whatsapp.say(text(SENDER, "wamid.2", whatsapp.menu_number("Cetak ulang KTP-el")))
    for number, answer in enumerate((NIK, "Siti Aminah", "3516090101080001", "1"), start=3):
        await whatsapp.say(text(SENDER, f"wamid.{number}", answer))
    whatsapp.media.files["7001"] = JPEG
    whatsapp.media.files["7002"] = PDF
    await whatsapp.say(image(SENDER, "wamid.7", "7001"))
    await whatsapp.say(document(SENDER, "wamid.8", "7002"))

    await whatsapp.say(text(SENDER, "wamid.9", "YA"))

    [request] = whatsapp.requests.requests.values()
    assert request.missing_documents == []
    submitted, *attached = [event.data for event in whatsapp.requests.outbox]
    assert RequestSubmitted.model_validate(submitted).missing_documents == []
    assert {DocumentAttached.model_validate(event).requirement for event in attached} == {
        "KK",
        "KTP_LAMA",
    }
    assert "belum kami terima" not in whatsapp.replies[-1].text


async def test_a_confirmation_whose_step_was_lost_submits_once_when_delivered_again(
    whatsapp: WhatsApp,
) -> None:
    await fill_in_kk_baru(whatsapp)
    confirmation = notification(messages=[text(SENDER, "wamid.8", "ya")])

    whatsapp.conversations.fail_next = "before"
    failed = await whatsapp.deliver(confirmation)
    retried = await whatsapp.deliver(confirmation)

    assert failed.status_code == 503
    assert retried.status_code == 200
    [request] = whatsapp.requests.requests.values()
    assert len(request.documents) == 1
    assert request.tracking_number in whatsapp.replies[-1].text
    assert sum("Nomor permohonan" in reply.text for reply in whatsapp.replies) == 1


async def test_a_confirmation_stored_before_a_crash_is_only_marked_when_delivered_again(
    whatsapp: WhatsApp,
) -> None:
    await fill_in_kk_baru(whatsapp)
    confirmation = notification(messages=[text(SENDER, "wamid.8", "ya")])

    whatsapp.conversations.fail_next = "after"
    failed = await whatsapp.deliver(confirmation)
    retried = await whatsapp.deliver(confirmation)

    assert failed.status_code == 503
    assert retried.status_code == 200
    assert len(whatsapp.requests.requests) == 1
    assert sum("Nomor permohonan" in reply.text for reply in whatsapp.replies) == 1
    assert whatsapp.inbound.handled_at["whatsapp:wamid.8"] is not None


async def test_a_file_that_cannot_be_fetched_is_asked_for_again(whatsapp: WhatsApp) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    await whatsapp.say(text(SENDER, "wamid.2", whatsapp.menu_number("Kartu Keluarga baru")))
    for number, answer in enumerate((NIK, "Siti Aminah", "1", "Jl. Majapahit 12"), start=3):
        await whatsapp.say(text(SENDER, f"wamid.{number}", answer))

    await whatsapp.say(image(SENDER, "wamid.7", "404040"))
    whatsapp.media.files["77"] = b"GIF89a" + b"0" * 64
    await whatsapp.say(document(SENDER, "wamid.8", "77"))

    assert "gagal kami ambil" in whatsapp.replies[-2].text
    assert "tidak dapat kami terima" in whatsapp.replies[-1].text
    assert whatsapp.conversations.held == {}
    stored = whatsapp.conversations.conversations[PHONE].conversation
    assert stored is not None
    assert stored.documents == {}


async def test_a_file_that_only_begins_as_a_photo_is_refused_at_once_and_not_held(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    await whatsapp.say(text(SENDER, "wamid.2", whatsapp.menu_number("Kartu Keluarga baru")))
    for number, answer in enumerate((NIK, "Siti Aminah", "1", "Jl. Majapahit 12"), start=3):
        await whatsapp.say(text(SENDER, f"wamid.{number}", answer))
    whatsapp.media.files["66"] = JPEG[: len(JPEG) // 2]
    whatsapp.media.files["67"] = JPEG

    await whatsapp.say(image(SENDER, "wamid.7", "66"))
    refused = whatsapp.replies[-1].text
    held_then = dict(whatsapp.conversations.held)
    await whatsapp.say(image(SENDER, "wamid.8", "67"))

    assert "tidak dapat dibuka sebagai JPEG" in refused
    assert held_then == {}
    assert "sudah kami terima" in whatsapp.replies[-1].text
    stored = whatsapp.conversations.conversations[PHONE].conversation
    assert stored is not None
    assert set(stored.documents) == {"BUKU_NIKAH"}


async def test_a_photo_sent_when_none_is_awaited_is_not_fetched(whatsapp: WhatsApp) -> None:
    whatsapp.media.files["1"] = JPEG

    await whatsapp.say(image(SENDER, "wamid.1", "1"))

    assert whatsapp.media.fetched == []
    assert "Balas dengan angka pilihan Anda" in whatsapp.replies[-1].text


async def test_status_answers_the_owner_only(whatsapp: WhatsApp) -> None:
    await fill_in_kk_baru(whatsapp)
    await whatsapp.say(text(SENDER, "wamid.8", "ya"))
    [request] = whatsapp.requests.requests.values()
    tracking = request.tracking_number

    await whatsapp.say(text(SENDER, "wamid.9", f"status {tracking.lower()}"))
    await whatsapp.say(text("6285700000001", "wamid.10", f"STATUS {tracking}"))

    owner, stranger = whatsapp.replies[-2:]
    assert owner.text.startswith("Permohonan Anda sudah diterima dan menunggu diperiksa petugas.")
    assert stranger.phone == "+6285700000001"
    assert "4 angka terakhir NIK" in stranger.text
    assert tracking not in stranger.text


async def test_a_webhook_answer_reveals_nothing_of_the_conversation(whatsapp: WhatsApp) -> None:
    response = await whatsapp.say(text(SENDER, "wamid.1", "Halo"))

    assert json.loads(response.text) == {"messages": 1, "statuses": 0}


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE"])
async def test_another_method_on_the_callback_url_is_told_both_it_takes(
    whatsapp: WhatsApp, method: str
) -> None:
    response = await whatsapp.client.request(method, WEBHOOK_PATH)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"


async def test_a_complaint_is_filed_from_the_chat_without_leaving_the_form(
    whatsapp: WhatsApp,
) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    await whatsapp.say(text(SENDER, "wamid.2", whatsapp.menu_number("Kartu Keluarga baru")))

    await whatsapp.say(text(SENDER, "wamid.3", "aduan pungli petugas desa minta 100 ribu"))

    [complaint] = whatsapp.elsewhere.complaints.complaints.values()
    assert complaint.category == "ILLEGAL_FEE"
    assert complaint.phone == PHONE
    assert complaint.filed_by.channel == "whatsapp"
    assert complaint.complaint_number in whatsapp.replies[-1].text
    [filed] = whatsapp.elsewhere.complaints.outbox
    assert ComplaintFiled.model_validate(filed.data).acknowledged_on == "WHATSAPP"
    await whatsapp.say(text(SENDER, "wamid.4", NIK))
    assert "Nama lengkap" in whatsapp.replies[-1].text or "nama" in whatsapp.replies[-1].text


async def test_a_sign_in_code_sent_back_in_the_chat_ends_the_phones_lockout(
    whatsapp: WhatsApp,
) -> None:
    sign_ins = whatsapp.elsewhere.sign_ins
    locked = SignInChallenge(
        challenge_id="c1",
        code_hash="c1:042917",
        expires_at=T0 + timedelta(minutes=5),
        wrong_codes=5,
        locked_until=T0 + timedelta(minutes=15),
        sent_at=(T0,),
    )
    assert await sign_ins.replace(PHONE, locked, version=-1)

    await whatsapp.say(text(SENDER, "wamid.1", "MASUK 042917"))

    stored, _ = await sign_ins.current(PHONE)
    assert stored is not None
    assert (stored.locked_until, stored.wrong_codes, stored.used) == (None, 0, True)
    assert whatsapp.replies[-1].text == sms_replies.PHONE_PROVEN


async def test_a_visit_is_booked_from_the_chat(whatsapp: WhatsApp) -> None:
    await whatsapp.say(text(SENDER, "wamid.1", "Halo"))
    menu = whatsapp.replies[-1].text
    await whatsapp.say(
        text(
            SENDER,
            "wamid.2",
            whatsapp.menu_number("Janji kunjungan (perekaman KTP-el, aktivasi IKD)"),
        )
    )
    how = whatsapp.replies[-1].text
    day = T0.astimezone(JAKARTA).date() + timedelta(days=1)

    await whatsapp.say(
        text(SENDER, "wamid.3", f"JANJI KTP_REKAM {day:%d-%m-%Y} {NIK} Budi Santoso")
    )

    assert "Janji kunjungan" in menu
    assert "JANJI <layanan> <tanggal> <NIK> <nama>" in how
    [appointment] = whatsapp.elsewhere.appointments.appointments.values()
    assert appointment.booked_by.channel == "whatsapp"
    assert appointment.citizen.preferred_channel == "WHATSAPP"
    assert appointment.booking_number in whatsapp.replies[-1].text
    [booked] = whatsapp.elsewhere.appointments.outbox
    assert AppointmentBooked.model_validate(booked.data).acknowledged_on == "WHATSAPP"


async def test_a_status_two_instances_took_at_once_is_passed_on_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both passed `arrived` before either marked the status handled: only the one that did
    wakes the relay, which would otherwise publish events that were never stored."""
    inbound = FakeInboundMessages()
    woken = CallCounter()
    inbound.outgoing.register(woken)
    context = DeliveryReportContext(inbound=inbound)
    reported = DeliveryReported(
        actor=PROVIDER_ACTOR,
        channel=DeliveryChannel.WHATSAPP,
        provider_message_id=WAMID,
        status=DeliveryStatus.DELIVERED,
        at=T0,
        idempotency_key=KEY,
    )
    assert await pass_on_report(reported=reported, context=context, now=T0)

    async def not_handled_yet(**_: Any) -> bool:
        return True

    monkeypatch.setattr(inbound, "arrived", not_handled_yet)
    again = await pass_on_report(reported=reported, context=context, now=T0)

    assert again is False
    assert (woken.calls, len(woken.events), len(inbound.outbox)) == (1, 1, 1)
