"""Delivery statuses and the per-request notification index on the real engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.adapters.mongo_delivery_status import (
    IndexedNotificationRepository,
    MongoDeliveryStatusStore,
    MongoNotificationIndex,
)
from services.notify.domain.delivery_status import StatusReport
from services.notify.service_layer.statuses import StatusContext, take_report
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models import (
    DeliveryChannel,
    DeliveryStatus,
    NotificationHistoryViewed,
    NotificationStatusChanged,
)
from shared.mongo import Document
from tests.builders import T0, cipher
from tests.fakes import CallCounter
from tests.unit.test_notify_status import WAMID, a_notification

KEY = "evt-1:citizen:WHATSAPP"
CIPHER = cipher()


def report(status: DeliveryStatus, minute: int, key: str | None = KEY) -> StatusReport:
    return StatusReport(
        channel=DeliveryChannel.WHATSAPP,
        provider_message_id=WAMID,
        status=status,
        at=T0 + timedelta(minutes=minute),
        idempotency_key=key,
        error_code="131026" if status is DeliveryStatus.FAILED else None,
    )


async def stored_outbox(db: AsyncDatabase[Document]) -> list[NotificationStatusChanged]:
    document = await db["delivery_statuses"].find_one({"_id": f"WHATSAPP:{WAMID}"})
    assert document is not None
    return [
        NotificationStatusChanged.model_validate(
            CloudEvent.from_json_bytes(
                CIPHER.open(item["payload"], context=f"outbox/{item['id']}")
            ).data
        )
        for item in document["outbox"]
    ]


async def test_statuses_racing_and_repeated_are_each_stored_once_with_their_events(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = MongoDeliveryStatusStore(
        mongo_db["delivery_statuses"], mongo_db["delivery_status_keys"], CIPHER
    )
    index = MongoNotificationIndex(mongo_db["notification_index"], CIPHER)
    notifications = IndexedNotificationRepository(mongo_db["notifications"], CIPHER, index=index)
    await notifications.add(a_notification())
    woken = CallCounter()
    context = StatusContext(
        store=store, notifications=notifications, outbox_ready=woken, now=lambda: T0
    )
    reports = [
        report(DeliveryStatus.READ, 3),
        report(DeliveryStatus.DELIVERED, 2, key=None),
        report(DeliveryStatus.SENT, 1),
    ]

    await asyncio.gather(*(take_report(report=item, context=context) for item in reports * 3))

    record = await store.get(DeliveryChannel.WHATSAPP, WAMID)
    assert record is not None
    assert record.status is DeliveryStatus.READ
    assert [seen.status for seen in record.history()] == [
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
    ]
    assert (record.notification_id, record.about, record.idempotency_key) == (
        "evt-1:citizen",
        "req-1",
        KEY,
    )
    events = await stored_outbox(mongo_db)
    assert sorted(event.status for event in events) == sorted(set(item.status for item in reports))
    assert all(event.current_status is not None for event in events)
    assert (await store.status_for_key(KEY)) == record
    assert await store.status_for_key("evt-9:citizen:WHATSAPP") is None


async def test_the_index_lists_a_requests_notifications_once_each_oldest_first(
    mongo_db: AsyncDatabase[Document],
) -> None:
    index = MongoNotificationIndex(mongo_db["notification_index"], CIPHER)
    notifications = IndexedNotificationRepository(mongo_db["notifications"], CIPHER, index=index)

    assert await notifications.add(a_notification("evt-1:citizen"))
    assert not await notifications.add(a_notification("evt-1:citizen"))
    await asyncio.gather(index.remember("req-1", "evt-2:citizen"), index.remember("req-2", "x"))
    await index.remember("req-1", "evt-3:citizen")

    assert await index.notification_ids("req-1") == [
        "evt-1:citizen",
        "evt-2:citizen",
        "evt-3:citizen",
    ]
    assert await index.notification_ids("req-404") == []
    stored = await notifications.get("evt-1:citizen")
    assert stored is not None
    assert stored.recipient == "+6281234567890"


async def test_a_read_of_a_history_is_queued_on_its_requests_entry_beside_its_notifications(
    mongo_db: AsyncDatabase[Document],
) -> None:
    index = MongoNotificationIndex(mongo_db["notification_index"], CIPHER)
    await index.remember("req-1", "evt-1:citizen")
    viewed = NotificationHistoryViewed(
        actor=Actor(kind=ActorKind.STAFF, id="verifier-1", channel=Channel.API),
        request_id="req-1",
        messages=1,
        viewed_at=T0,
    )
    events = [CloudEvent.wrap(viewed, source="/adminduk/notify", time=T0)]

    await index.record_read("req-1", events)
    await index.record_read("req-2", events)

    assert await index.notification_ids("req-1") == ["evt-1:citizen"]
    assert await index.notification_ids("req-2") == []
    for about in ("req-1", "req-2"):
        document = await mongo_db["notification_index"].find_one({"_id": about})
        assert document is not None
        (item,) = document["outbox"]
        opened = CloudEvent.from_json_bytes(
            CIPHER.open(item["payload"], context=f"outbox/{item['id']}")
        )
        assert NotificationHistoryViewed.model_validate(opened.data) == viewed
