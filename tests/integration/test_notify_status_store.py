"""Delivery statuses, a request's message history and the reads of it on the real engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.adapters.mongo_delivery_status import (
    MongoDeliveryStatusStore,
    MongoHistoryReads,
)
from services.notify.adapters.mongo_notifications import ABOUT_INDEX, MongoNotificationRepository
from services.notify.domain.delivery_status import StatusReport
from services.notify.service_layer.statuses import SOURCE, StatusContext, take_report
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.notifications import NotificationHistoryViewed, NotificationStatusChanged
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.mongo import UNPUBLISHED, Document
from tests.builders import T0, cipher
from tests.fakes import CallCounter
from tests.unit.notify.test_notify_status import WAMID, a_notification

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
    notifications = MongoNotificationRepository(mongo_db["notifications"], CIPHER)
    await notifications.add(a_notification())
    woken = CallCounter()
    store.outgoing.register(woken)
    context = StatusContext(store=store, notifications=notifications, clock=lambda: T0)
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


async def test_a_requests_history_is_found_through_the_index_on_about(
    mongo_db: AsyncDatabase[Document],
) -> None:
    notifications = MongoNotificationRepository(mongo_db["notifications"], CIPHER)
    await notifications.ensure_indexes()
    await asyncio.gather(
        *(
            notifications.add(a_notification(f"evt-{n}:citizen", about=f"req-{n}"))
            for n in range(50)
        )
    )

    assert [item.notification_id for item in await notifications.about("req-7")] == [
        "evt-7:citizen"
    ]
    plan = await mongo_db.command(
        "explain",
        {"find": "notifications", "filter": {"about": "req-7"}, "projection": {"outbox": 0}},
    )
    # MongoDB names the index it scans; the local engine, its PostgreSQL twin.
    assert ABOUT_INDEX in str(plan)


def a_read(request_id: str, officer: str) -> NotificationHistoryViewed:
    return NotificationHistoryViewed(
        actor=Actor(kind=ActorKind.STAFF, id=officer, channel=Channel.API),
        request_id=request_id,
        messages=1,
        viewed_at=T0,
    )


async def test_each_read_of_a_history_is_queued_on_its_requests_document_for_the_relay(
    mongo_db: AsyncDatabase[Document],
) -> None:
    reads = MongoHistoryReads(mongo_db["history_reads"], CIPHER)
    made = [
        a_read("req-1", "verifier-1"),
        a_read("req-1", "verifier-2"),
        a_read("req-2", "signer-1"),
    ]

    await asyncio.gather(
        *(
            reads.record_read(read.request_id, [CloudEvent.wrap(read, source=SOURCE, time=T0)])
            for read in made
        )
    )

    for about, wanted in (("req-1", made[:2]), ("req-2", made[2:])):
        document = await mongo_db["history_reads"].find_one({"_id": about})
        assert document is not None
        assert document[UNPUBLISHED] is True
        queued = [
            NotificationHistoryViewed.model_validate(
                CloudEvent.from_json_bytes(
                    CIPHER.open(item["payload"], context=f"outbox/{item['id']}")
                ).data
            )
            for item in document["outbox"]
        ]
        assert sorted(queued, key=lambda read: read.actor.id) == wanted
