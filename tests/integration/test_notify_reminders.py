"""A visit's reminder on the real engine: called off by `_id` whichever of the booking and the
cancellation is handled first, and never among the messages due."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.notify.domain.notification import NotificationStatus
from services.notify.service_layer import messages
from shared.mongo import Document
from tests.builders import cipher
from tests.fakes import FakeNotify
from tests.unit.notify.test_notify_reminders import BOOKED_AT, booked, cancelled, wib


async def notify_on(db: AsyncDatabase[Document]) -> tuple[FakeNotify, MongoNotificationRepository]:
    repository = MongoNotificationRepository(db["notifications"], cipher())
    await repository.ensure_indexes()
    fake = FakeNotify()
    fake.context = dataclasses.replace(fake.context, repository=repository)
    return fake, repository


async def test_a_queued_reminder_is_cancelled_by_id_and_never_comes_due(
    mongo_db: AsyncDatabase[Document],
) -> None:
    fake, repository = await notify_on(mongo_db)
    await messages.queue_appointment_reminder(booked=booked(), context=fake.context, now=BOOKED_AT)
    before = await mongo_db["notifications"].find_one({"_id": "apt-1:reminder"})
    assert before is not None
    assert [n.notification_id for n in await repository.due(wib(4, 8), 10)] == ["apt-1:reminder"]

    cancel = cancelled("apt-1")
    for _ in range(2):
        await messages.cancel_appointment_reminder(
            cancelled=cancel, context=fake.context, now=BOOKED_AT
        )

    after = await mongo_db["notifications"].find_one({"_id": "apt-1:reminder"})
    assert after is not None
    assert after["status"] == NotificationStatus.CANCELLED.value
    assert after["version"] == before["version"] + 1
    assert await repository.due(wib(4, 8), 10) == []
    assert not await repository.cancel("apt-1:reminder")


@pytest.mark.parametrize("cancel_first", [True, False], ids=["cancel-first", "book-first"])
async def test_booking_and_cancellation_leave_it_cancelled_in_either_order_or_at_once(
    mongo_db: AsyncDatabase[Document], cancel_first: bool
) -> None:
    fake, repository = await notify_on(mongo_db)
    book = messages.queue_appointment_reminder(
        booked=booked("apt-2"), context=fake.context, now=BOOKED_AT
    )
    cancel = messages.cancel_appointment_reminder(
        cancelled=cancelled("apt-2"), context=fake.context, now=BOOKED_AT
    )
    racing = messages.cancel_appointment_reminder(
        cancelled=cancelled("apt-3"), context=fake.context, now=BOOKED_AT
    )

    first, second = (cancel, book) if cancel_first else (book, cancel)
    await first
    await second
    await asyncio.gather(
        racing,
        messages.queue_appointment_reminder(
            booked=booked("apt-3"), context=fake.context, now=BOOKED_AT
        ),
    )

    for appointment in ("apt-2", "apt-3"):
        stored = await repository.get(f"{appointment}:reminder")
        assert stored is not None
        assert stored.status is NotificationStatus.CANCELLED
    assert await repository.due(wib(5, 0), 10) == []
