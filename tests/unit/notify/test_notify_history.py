"""A request's message history through notify's API: for the officers of its case's service
point and for the citizen whose phone the request gives, never anyone else's, never the text or
the full number; and the SMS gateway's report webhook refusing what is not signed."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.intake.bootstrap import token_signer
from services.intake.config import IntakeSettings
from services.notify.bootstrap import create_app
from services.notify.config import NotifySettings
from services.notify.domain.delivery_status import StatusReport, mask_recipient
from services.notify.domain.recipients import Recipients
from services.notify.entrypoints.status_webhooks import StatusWebhooks
from services.notify.service_layer.statuses import HistoryContext, StatusContext, take_report
from shared.dependencies import provide
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.notifications import NotificationHistoryViewed
from shared.events.models.values import DeliveryChannel, DeliveryStatus, NotificationChannel
from shared.http.app import ReadinessCheck
from shared.signatures import timestamped_signature
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0
from tests.fakes import (
    FakeDeliveryStatusStore,
    FakeNotificationRepository,
    FakeRecipientDirectory,
)
from tests.unit.notify.test_notify_status import WAMID, FakeHistoryReads, a_notification

PHONE = "+6281234567890"
OFFICE = "KANTOR_DINAS"
"""The default service point, where `req-1`, submitted online, is worked on."""
COUNTER = "MPP_MOJOKERTO"
"""Where `req-3` was submitted, at the counter, and is worked on."""
HISTORY_STAFF = ("verifier", "operator", "signer", "counter_officer", "supervisor")
SMS_SECRET = b"sms-secret"
INTAKE = IntakeSettings()
CITIZEN_TOKENS = token_signer(INTAKE, INTAKE.cipher())


def citizen(phone: str) -> dict[str, str]:
    token, _ = CITIZEN_TOKENS.issue(phone=phone, now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


@dataclasses.dataclass
class FakeNotify:
    """Notify's history and report webhook on fakes: request `req-1` with two messages, one
    about another request, and `req-3`, submitted at a counter, with one."""

    store: FakeDeliveryStatusStore = dataclasses.field(default_factory=FakeDeliveryStatusStore)
    reads: FakeHistoryReads = dataclasses.field(default_factory=FakeHistoryReads)
    notifications: FakeNotificationRepository = dataclasses.field(
        default_factory=FakeNotificationRepository
    )
    recipients: FakeRecipientDirectory = dataclasses.field(default_factory=FakeRecipientDirectory)

    def __post_init__(self) -> None:
        self.statuses = StatusContext(
            store=self.store,
            notifications=self.notifications,
            clock=lambda: T0,
        )

    async def seed(self) -> None:
        self.recipients.recipients["req-1"] = Recipients(
            request_id="req-1",
            tracking_number="KK-2025-000001",
            service_code="KK_BARU",
            name="Siti Aminah",
            phone=PHONE,
            channel=NotificationChannel.WHATSAPP,
            submitted_by=Actor.system("intake"),
            assisted_contact=None,
        )
        receipt = a_notification("evt-1:citizen")
        step = dataclasses.replace(
            a_notification("evt-2:citizen"),
            created_at=T0 + timedelta(hours=1),
            template="case_approved",
            provider_message_id=None,
            last_error="provider answered 503",
            attempts=2,
        )
        self.recipients.recipients["req-3"] = dataclasses.replace(
            self.recipients.recipients["req-1"],
            request_id="req-3",
            submitted_by=Actor(
                kind=ActorKind.STAFF,
                id="loket-1",
                role="counter_officer",
                service_point=COUNTER,
                channel=Channel.API,
            ),
        )
        for notification in (
            receipt,
            step,
            a_notification("evt-3:citizen", about="req-2"),
            a_notification("evt-4:citizen", about="req-3"),
        ):
            await self.notifications.add(notification)

    @asynccontextmanager
    async def wiring(self, app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        await self.seed()
        provide(
            app,
            HistoryContext(
                reads=self.reads,
                notifications=self.notifications,
                store=self.store,
                recipients=self.recipients,
                clock=lambda: T0,
                default_service_point=OFFICE,
            ),
        )
        provide(
            app,
            StatusWebhooks(
                sms_secret=SMS_SECRET,
                statuses=self.statuses,
                clock=lambda: datetime.now(UTC),
            ),
        )
        yield {}


@dataclasses.dataclass
class Notify:
    client: httpx.AsyncClient
    store: FakeDeliveryStatusStore
    statuses: StatusContext
    reads: FakeHistoryReads


@pytest.fixture
async def notify() -> AsyncIterator[Notify]:
    fake = FakeNotify()
    app = create_app(NotifySettings(), fake.wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        yield Notify(client=client, store=fake.store, statuses=fake.statuses, reads=fake.reads)


async def history(
    notify: Notify, headers: dict[str, str], request_id: str = "req-1", **params: str
) -> httpx.Response:
    return await notify.client.get(
        "/v1/notifications", params={"request_id": request_id, **params}, headers=headers
    )


def test_numbers_and_addresses_are_masked() -> None:
    assert mask_recipient("+6281234567890") == "+62812****890"
    assert mask_recipient("verifikator@dukcapil.example.go.id") == "v***@dukcapil.example.go.id"
    assert "12345" not in mask_recipient("+12345")


async def test_the_citizen_reads_their_requests_messages_newest_first_without_text(
    notify: Notify,
) -> None:
    for status, minute in ((DeliveryStatus.READ, 3), (DeliveryStatus.SENT, 1)):
        report = StatusReport(
            channel=DeliveryChannel.WHATSAPP,
            provider_message_id=WAMID,
            status=status,
            at=T0 + timedelta(minutes=minute),
        )
        await take_report(report=report, context=notify.statuses)

    response = await history(notify, citizen(PHONE))

    assert response.status_code == 200, response.text
    body = response.json()
    assert PHONE not in response.text
    assert "Permohonan Anda diterima" not in response.text
    assert [message["notification_id"] for message in body["messages"]] == [
        "evt-2:citizen",
        "evt-1:citizen",
    ]
    step, receipt = body["messages"]
    assert (step["delivery_status"], step["deliveries"], step["attempts"]) == (None, [], 2)
    assert step["last_error"] == "provider answered 503"
    assert receipt["recipient"] == "+62812****890"
    assert receipt["delivery_status"] == "READ"
    assert receipt["sent_at"] == "2025-03-03T01:31:00Z"
    assert [seen["status"] for seen in receipt["deliveries"][0]["statuses"]] == ["SENT", "READ"]
    assert (body["total"], body["next_offset"]) == (2, None)


async def test_pages_follow_one_another(notify: Notify) -> None:
    supervisor = bearer("supervisor", service_point=OFFICE)
    first = (await history(notify, supervisor, limit="1")).json()
    second = (await history(notify, supervisor, limit="1", offset="1")).json()

    assert [item["notification_id"] for item in first["messages"]] == ["evt-2:citizen"]
    assert first["next_offset"] == 1
    assert [item["notification_id"] for item in second["messages"]] == ["evt-1:citizen"]
    assert second["next_offset"] is None


async def test_officers_of_the_cases_service_point_read_its_messages(notify: Notify) -> None:
    for role in HISTORY_STAFF:
        online = await history(notify, bearer(role, service_point=OFFICE))
        at_counter = await history(notify, bearer(role, service_point=COUNTER), "req-3")
        assert (online.status_code, at_counter.status_code) == (200, 200), role
        assert (online.json()["total"], at_counter.json()["total"]) == (2, 1)


async def test_an_officer_of_another_service_point_finds_no_such_request_and_reads_nothing(
    notify: Notify,
) -> None:
    missing = await history(notify, bearer("verifier", service_point=OFFICE), "req-404")
    for role in HISTORY_STAFF:
        for request_id, elsewhere in (("req-1", COUNTER), ("req-3", OFFICE)):
            response = await history(notify, bearer(role, service_point=elsewhere), request_id)
            assert response.status_code == 404, (role, request_id, response.text)
            assert response.json() == missing.json()
        unscoped = await history(notify, bearer(role))
        assert unscoped.json() == missing.json(), role

    assert notify.reads.events == {}


async def test_an_officers_read_is_an_event_for_audit_and_the_citizens_own_is_not(
    notify: Notify,
) -> None:
    await history(notify, citizen(PHONE))
    assert notify.reads.events == {}

    await history(notify, bearer("verifier", sub="verifier-7", service_point=OFFICE))

    (event,) = notify.reads.events["req-1"]
    viewed = NotificationHistoryViewed.model_validate(event.data)
    assert (viewed.request_id, viewed.messages, viewed.viewed_at) == ("req-1", 2, T0)
    assert (viewed.actor.id, viewed.actor.role, viewed.actor.service_point) == (
        "verifier-7",
        "verifier",
        "KANTOR_DINAS",
    )


async def test_another_citizen_gets_the_same_404_as_for_a_request_that_does_not_exist(
    notify: Notify,
) -> None:
    others = await history(notify, citizen("+6285700000001"))
    missing = await notify.client.get(
        "/v1/notifications", params={"request_id": "req-404"}, headers=citizen(PHONE)
    )

    assert others.status_code == missing.status_code == 404
    assert others.json() == missing.json()


async def test_staff_outside_the_requests_work_and_callers_without_a_token_are_refused(
    notify: Notify,
) -> None:
    assert (await history(notify, bearer("auditor"))).status_code == 403
    assert (
        await history(notify, bearer("village_operator", village="3516010001"))
    ).status_code == 403
    assert (await history(notify, {})).status_code == 401


def sms_headers(body: bytes, at: int) -> dict[str, str]:
    return {
        "X-Sms-Timestamp": str(at),
        "X-Sms-Signature": timestamped_signature(SMS_SECRET, str(at), body),
    }


async def test_an_sms_report_is_recorded_only_when_signed_and_recent(notify: Notify) -> None:
    body = b'{"message_id": "sms-1", "status": "DELIVERED", "at": "2025-06-18T16:22:53Z"}'
    now = int(datetime.now(UTC).timestamp())

    stale = str(now - 600)
    old = await notify.client.post(
        "/v1/channels/sms/reports",
        content=body,
        headers={
            "X-Sms-Timestamp": stale,
            "X-Sms-Signature": timestamped_signature(SMS_SECRET, stale, body),
        },
    )
    assert old.status_code == 401
    assert notify.store.records == {}

    fresh = str(now)
    taken = await notify.client.post(
        "/v1/channels/sms/reports",
        content=body,
        headers={
            "X-Sms-Timestamp": fresh,
            "X-Sms-Signature": timestamped_signature(SMS_SECRET, fresh, body),
        },
    )
    assert taken.status_code == 200, taken.text
    assert list(notify.store.records) == ["SMS:sms-1"]


@pytest.mark.parametrize("timestamp", [b"\xb2", b"175026377\xb3", b"1" * 5000])
async def test_a_report_timestamp_not_in_ascii_digits_is_a_401_not_a_crash(
    notify: Notify, timestamp: bytes
) -> None:
    """The byte 0xB2 reads as `²`: a digit to `str.isdigit`, but not to `int`."""
    response = await notify.client.post(
        "/v1/channels/sms/reports",
        content=b'{"message_id": "sms-1", "status": "DELIVERED", "at": "2025-06-18T16:22:53Z"}',
        headers={b"X-Sms-Timestamp": timestamp, b"X-Sms-Signature": b"sha256=" + b"0" * 64},
    )

    assert response.status_code == 401
    assert notify.store.records == {}


async def test_a_signed_report_not_of_the_gateways_shape_is_422_and_changes_nothing(
    notify: Notify,
) -> None:
    body = b'{"message_id": "sms-1", "status": "QUEUED", "at": "2025-06-18T16:22:53Z"}'

    response = await notify.client.post(
        "/v1/channels/sms/reports",
        content=body,
        headers=sms_headers(body, int(datetime.now(UTC).timestamp())),
    )

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert notify.store.records == {}
