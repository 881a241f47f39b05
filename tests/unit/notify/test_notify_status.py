"""Providers' delivery statuses: WhatsApp's as intake passes them on (`DeliveryReported`), the
SMS gateway's signed reports, and a message's statuses recorded once each, never going
backwards. Meta's payloads are read by intake (`test_intake_whatsapp.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.notify.domain.delivery_status import (
    DeliveryRecord,
    StatusReport,
    notification_id_of,
)
from services.notify.domain.notification import Notification, NotificationStatus
from services.notify.entrypoints.consumer import subscription
from services.notify.entrypoints.status_webhooks import SmsDeliveryReport
from services.notify.service_layer.statuses import StatusContext, take_report
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.conversations import DeliveryReported
from shared.events.models.notifications import NotificationStatusChanged
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.outbox import Outbox
from tests.builders import T0
from tests.fakes import (
    CallCounter,
    FakeClock,
    FakeDeliveryStatusStore,
    FakeNotificationRepository,
    FakeNotify,
)

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDNDU3NUY1RTMxRjlGMzQ2NzUA"
KEY = "evt-1:citizen:WHATSAPP"


class FakeHistoryReads:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.events: dict[str, list[CloudEvent]] = {}

    async def record_read(self, about: str, outbox: list[CloudEvent]) -> None:
        self.events.setdefault(about, []).extend(outbox)


class Recorder:
    def __init__(self) -> None:
        self.resolved: list[tuple[str, str]] = []
        self.failed: list[DeliveryRecord] = []

    async def resolve_uncertain(self, *, idempotency_key: str, provider_message_id: str) -> bool:
        self.resolved.append((idempotency_key, provider_message_id))
        return True

    async def delivery_failed(self, record: DeliveryRecord) -> None:
        self.failed.append(record)


def a_notification(notification_id: str = "evt-1:citizen", about: str = "req-1") -> Notification:
    return Notification(
        notification_id=notification_id,
        about=about,
        channel=DeliveryChannel.WHATSAPP,
        recipient="+6281234567890",
        template="receipt",
        text="Permohonan Anda diterima.",
        status=NotificationStatus.SENT,
        attempts=1,
        next_attempt_at=T0,
        created_at=T0,
        provider_message_id=WAMID,
    )


def test_sms_failures_of_every_kind_are_failures_with_their_kind_and_code() -> None:
    expired = SmsDeliveryReport.model_validate_json(
        b'{"message_id": "m1", "reference": "evt-1:citizen:SMS", "status": "EXPIRED", '
        b'"at": "2025-06-18T23:22:53+07:00", "error": "ABSENT_SUBSCRIBER"}'
    ).report()
    delivered = SmsDeliveryReport.model_validate_json(
        b'{"message_id": "m1", "status": "DELIVERED", "at": "2025-06-18T16:22:53Z"}'
    ).report()

    assert expired.status is DeliveryStatus.FAILED
    assert (expired.error_code, expired.error_reason) == ("ABSENT_SUBSCRIBER", "EXPIRED")
    assert expired.at == datetime(2025, 6, 18, 16, 22, 53, tzinfo=UTC)
    assert expired.idempotency_key == "evt-1:citizen:SMS"
    assert (delivered.status, delivered.error_reason) == (DeliveryStatus.DELIVERED, None)
    with pytest.raises(ValidationError):
        SmsDeliveryReport.model_validate_json(
            b'{"message_id": "m1", "status": "QUEUED", "at": "2025-06-18T16:22:53Z"}'
        )


def delivery_reported(status: DeliveryStatus, minute: int, **extra: Any) -> CloudEvent:
    event = DeliveryReported(
        actor=Actor(kind=ActorKind.PROVIDER, id="whatsapp", channel=Channel.WHATSAPP),
        channel=DeliveryChannel.WHATSAPP,
        provider_message_id=WAMID,
        status=status,
        at=T0 + timedelta(minutes=minute),
        **extra,
    )
    return CloudEvent.wrap(event, source="/adminduk/intake", time=T0)


async def test_a_status_intake_passed_on_is_recorded_once_with_its_notification() -> None:
    notify = FakeNotify()
    await notify.repository.add(a_notification())
    dispatch = subscription.bind(notify.context, FakeClock(T0))
    delivered = delivery_reported(DeliveryStatus.DELIVERED, 1, idempotency_key=KEY)

    for event in (delivered, delivered, delivery_reported(DeliveryStatus.DELIVERED, 2)):
        await dispatch(event)

    record = await notify.statuses.get(DeliveryChannel.WHATSAPP, WAMID)
    assert record is not None
    assert record.status is DeliveryStatus.DELIVERED
    assert record.seen[DeliveryStatus.DELIVERED].at == T0 + timedelta(minutes=1)
    assert (record.notification_id, record.idempotency_key) == ("evt-1:citizen", KEY)
    [published] = [NotificationStatusChanged.model_validate(e.data) for e in notify.statuses.outbox]
    assert (published.status, published.about, published.notification_id) == (
        DeliveryStatus.DELIVERED,
        "req-1",
        "evt-1:citizen",
    )


async def test_a_failure_intake_passed_on_keeps_its_code_and_title() -> None:
    notify = FakeNotify()
    dispatch = subscription.bind(notify.context, FakeClock(T0))

    await dispatch(delivery_reported(DeliveryStatus.READ, 2))
    await dispatch(
        delivery_reported(
            DeliveryStatus.FAILED, 3, error_code="131026", error_title="Message undeliverable"
        )
    )

    record = await notify.statuses.get(DeliveryChannel.WHATSAPP, WAMID)
    assert record is not None
    assert record.status is DeliveryStatus.READ
    failure = record.seen[DeliveryStatus.FAILED]
    assert (failure.error_code, failure.error_reason) == ("131026", "Message undeliverable")
    assert len(notify.statuses.outbox) == 2


def test_a_key_names_its_notification() -> None:
    assert notification_id_of("evt-1:citizen:WHATSAPP") == "evt-1:citizen"
    assert notification_id_of("evt-1:citizen") == "evt-1:citizen"


def report(status: DeliveryStatus, minute: int, **extra: Any) -> StatusReport:
    return StatusReport(
        channel=DeliveryChannel.WHATSAPP,
        provider_message_id=WAMID,
        status=status,
        at=T0 + timedelta(minutes=minute),
        **extra,
    )


def context_with(
    store: FakeDeliveryStatusStore, recorder: Recorder | None = None
) -> tuple[StatusContext, CallCounter, FakeNotificationRepository]:
    notifications = FakeNotificationRepository()
    notifications.notifications["evt-1:citizen"] = a_notification()
    woken = CallCounter()
    store.outgoing.register(woken)
    context = StatusContext(
        store=store,
        notifications=notifications,
        clock=lambda: T0,
        uncertain=recorder,
        failures=recorder,
    )
    return context, woken, notifications


async def test_a_late_delivered_after_read_is_recorded_but_never_lowers_the_status() -> None:
    store = FakeDeliveryStatusStore()
    context, woken, _ = context_with(store)

    await take_report(report=report(DeliveryStatus.READ, 2, idempotency_key=KEY), context=context)
    record = await take_report(report=report(DeliveryStatus.DELIVERED, 1), context=context)

    assert record.status is DeliveryStatus.READ
    assert [seen.status for seen in record.history()] == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
    ]
    events = [NotificationStatusChanged.model_validate(event.data) for event in store.outbox]
    assert [(event.status, event.current_status) for event in events] == [
        (DeliveryStatus.READ, DeliveryStatus.READ),
        (DeliveryStatus.DELIVERED, DeliveryStatus.READ),
    ]
    assert {event.notification_id for event in events} == {"evt-1:citizen"}
    assert {event.about for event in events} == {"req-1"}
    assert {event.subject for event in events} == {"req-1"}
    assert woken.calls == 2


async def test_the_same_status_twice_is_recorded_and_published_once() -> None:
    store = FakeDeliveryStatusStore()
    context, woken, _ = context_with(store)

    first = await take_report(report=report(DeliveryStatus.DELIVERED, 1), context=context)
    again = await take_report(report=report(DeliveryStatus.DELIVERED, 3), context=context)

    assert len(store.outbox) == 1
    assert woken.calls == 1
    assert first.seen == again.seen
    assert again.seen[DeliveryStatus.DELIVERED].at == T0 + timedelta(minutes=1)


async def test_a_report_without_a_key_is_published_under_its_provider_message() -> None:
    store = FakeDeliveryStatusStore()
    context, _, _ = context_with(store)

    await take_report(report=report(DeliveryStatus.SENT, 0), context=context)

    event = NotificationStatusChanged.model_validate(store.outbox[0].data)
    assert (event.notification_id, event.about) == (None, None)
    assert event.subject == f"WHATSAPP:{WAMID}"
    assert store.outbox[0].subject == f"WHATSAPP:{WAMID}"


async def test_a_failure_before_delivery_is_permanent_and_passed_on_each_time() -> None:
    store = FakeDeliveryStatusStore()
    recorder = Recorder()
    context, _, _ = context_with(store, recorder)
    failed = report(DeliveryStatus.FAILED, 1, idempotency_key=KEY, error_code="131026")

    await take_report(report=report(DeliveryStatus.SENT, 0, idempotency_key=KEY), context=context)
    await take_report(report=failed, context=context)
    await take_report(report=failed, context=context)

    assert [record.notification_id for record in recorder.failed] == ["evt-1:citizen"] * 2
    assert all(record.permanently_failed for record in recorder.failed)
    assert recorder.resolved == [(KEY, WAMID)] * 3
    assert (await store.status_for_key(KEY)) == await store.get(DeliveryChannel.WHATSAPP, WAMID)


async def test_a_failure_after_the_phone_got_it_is_not_a_permanent_failure() -> None:
    store = FakeDeliveryStatusStore()
    recorder = Recorder()
    context, _, _ = context_with(store, recorder)

    await take_report(
        report=report(DeliveryStatus.DELIVERED, 0, idempotency_key=KEY), context=context
    )
    record = await take_report(
        report=report(DeliveryStatus.FAILED, 1, idempotency_key=KEY), context=context
    )

    assert record.status is DeliveryStatus.DELIVERED
    assert not record.permanently_failed
    assert recorder.failed == []


async def test_reports_racing_on_one_message_are_both_kept() -> None:
    """A save based on a stale read is refused and the report is taken again on the current
    record."""
    store = FakeDeliveryStatusStore()
    context, _, _ = context_with(store)
    await take_report(report=report(DeliveryStatus.SENT, 0), context=context)
    stale = await store.get(DeliveryChannel.WHATSAPP, WAMID)
    assert stale is not None
    await take_report(report=report(DeliveryStatus.DELIVERED, 1), context=context)

    stale.take(report(DeliveryStatus.READ, 2))
    assert not await store.save(stale, [])
    record = await take_report(report=report(DeliveryStatus.READ, 2), context=context)

    assert set(record.seen) == {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ}
