"""A booked visit's reminder: 08:00 WIB the day before, called off by a cancellation that may
even arrive before the booking, and for a rescheduled visit only its new slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.notification import NotificationStatus
from services.notify.domain.reminders import reminder_due, reminder_id
from services.notify.entrypoints.consumer import subscription
from services.notify.service_layer.delivery import Delivery
from shared.calendar import JAKARTA
from shared.events.envelope import CloudEvent, Event
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.values import DeliveryChannel, NotificationChannel
from tests.builders import CITIZEN, MOBILE
from tests.fakes import FakeClock, FakeMessageProvider, FakeNotify


def wib(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=JAKARTA).astimezone(UTC)


VISIT = wib(5, 9)
"""Wednesday 5 March 2025, 09.00 WIB."""
BOOKED_AT = wib(3, 10)


def booked(
    appointment_id: str = "apt-1",
    *,
    starts_at: datetime = VISIT,
    phone: str | None = MOBILE,
    rescheduled_from: str | None = None,
) -> AppointmentBooked:
    return AppointmentBooked(
        actor=CITIZEN,
        appointment_id=appointment_id,
        booking_number="B4K7M2Q9",
        service_code="KTP_REKAM",
        service_point="KANTOR_DINAS",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        nik="3516091204800001",
        name="Siti Aminah",
        phone=phone,
        contact_channel=NotificationChannel.WHATSAPP,
        booked_at=BOOKED_AT,
        rescheduled_from=rescheduled_from,
    )


def cancelled(
    appointment_id: str = "apt-1", rescheduled_to: str | None = None
) -> AppointmentCancelled:
    return AppointmentCancelled(
        actor=CITIZEN,
        appointment_id=appointment_id,
        booking_number="B4K7M2Q9",
        service_code="KTP_REKAM",
        service_point="KANTOR_DINAS",
        starts_at=VISIT,
        ends_at=VISIT + timedelta(hours=1),
        name="Siti Aminah",
        phone=MOBILE,
        contact_channel=NotificationChannel.WHATSAPP,
        rescheduled_to=rescheduled_to,
        cancelled_at=BOOKED_AT,
    )


async def deliver(notify: FakeNotify, event: Event, now: datetime = BOOKED_AT) -> None:
    wrapped = CloudEvent.wrap(event, source="/test", time=now)
    await subscription.bind(notify.context, FakeClock(now))(wrapped)


@pytest.mark.parametrize(
    ("starts_at", "now", "due"),
    [
        (wib(5, 9), wib(3, 10), wib(4, 8)),
        (wib(5, 9), wib(4, 7, 59), wib(4, 8)),
        (wib(3, 6, 30), wib(1, 20), wib(2, 8)),
        (wib(5, 23, 30), wib(3, 10), wib(4, 8)),
    ],
    ids=[
        "two-days-ahead",
        "booked-just-before-the-reminder",
        "early-visit-is-the-day-before-in-jakarta-not-in-utc",
        "late-visit-is-the-day-before-in-jakarta-not-in-utc",
    ],
)
def test_the_reminder_is_due_at_eight_wib_the_day_before(
    starts_at: datetime, now: datetime, due: datetime
) -> None:
    assert reminder_due(starts_at, now=now) == due


@pytest.mark.parametrize(
    "now", [wib(4, 8), wib(4, 20), wib(5, 7)], ids=["at-eight", "that-evening", "on-the-day"]
)
def test_a_visit_booked_after_its_reminder_moment_gets_none(now: datetime) -> None:
    assert reminder_due(wib(5, 9), now=now) is None


async def test_a_booking_queues_the_confirmation_now_and_the_reminder_for_the_day_before() -> None:
    notify = FakeNotify()

    await deliver(notify, booked())

    reminder = notify.repository.notifications[reminder_id("apt-1")]
    assert reminder_id("apt-1") == "apt-1:reminder"
    assert reminder.status is NotificationStatus.PENDING
    assert reminder.next_attempt_at == wib(4, 8)
    assert reminder.template == "appointment_reminder"
    assert (reminder.channel, reminder.recipient) == (DeliveryChannel.WHATSAPP, MOBILE)
    assert [leg.channel for leg in reminder.fallbacks] == [DeliveryChannel.SMS]
    assert "besok jadwal perekaman KTP-el Anda" in reminder.text
    assert "Rabu, 5 Maret 2025, 09.00-10.00 WIB" in reminder.text
    [confirmation] = [
        n for n in notify.repository.notifications.values() if n.template == "appointment_booked"
    ]
    assert confirmation.next_attempt_at == BOOKED_AT


@pytest.mark.parametrize("chat", list(NotificationChannel))
async def test_a_visit_booked_in_a_chat_gets_no_confirmation_but_its_reminder(
    chat: NotificationChannel,
) -> None:
    """The chat's reply gave the booking; the day before, the reminder comes as for any visit."""
    notify = FakeNotify()

    await deliver(notify, booked().model_copy(update={"acknowledged_on": chat}))

    [reminder] = notify.repository.notifications.values()
    assert reminder.notification_id == reminder_id("apt-1")
    assert reminder.next_attempt_at == wib(4, 8)


async def test_a_booking_without_a_phone_or_redelivered_queues_no_reminder_again() -> None:
    notify = FakeNotify()

    await deliver(notify, booked("apt-2", phone=None))
    for _ in range(2):
        await deliver(notify, booked())

    reminders = [n for n in notify.repository.notifications if n.endswith(":reminder")]
    assert reminders == ["apt-1:reminder"]


async def test_delivery_sends_the_reminder_when_due_and_never_once_cancelled() -> None:
    notify = FakeNotify()
    await deliver(notify, booked("apt-1"))
    await deliver(notify, booked("apt-2"))
    await deliver(notify, cancelled("apt-2"))
    clock = FakeClock(wib(4, 7, 59))
    provider = FakeMessageProvider()
    delivery = Delivery(
        repository=notify.repository,
        provider=provider,
        max_attempts=3,
        clock=clock,
    )

    async def reminders_sent() -> list[str]:
        await delivery.deliver_due()
        await delivery.drain()
        return [n.notification_id for n in provider.sent if n.template == "appointment_reminder"]

    assert await reminders_sent() == []
    clock.current = wib(4, 8)
    assert await reminders_sent() == ["apt-1:reminder"]
    assert notify.repository.notifications["apt-2:reminder"].status is NotificationStatus.CANCELLED


async def test_a_cancellation_that_overtakes_the_booking_leaves_no_reminder_to_send() -> None:
    notify = FakeNotify()

    await deliver(notify, cancelled("apt-1"))
    await deliver(notify, booked("apt-1"))

    reminder = notify.repository.notifications["apt-1:reminder"]
    assert reminder.status is NotificationStatus.CANCELLED
    assert reminder.recipient == ""
    assert reminder.text == ""
    assert all(n.notification_id != "apt-1:reminder" for n in notify.handed_over)


async def test_a_sent_reminder_stays_sent_when_the_visit_is_cancelled_after() -> None:
    notify = FakeNotify()
    await deliver(notify, booked())
    notify.repository.notifications["apt-1:reminder"].status = NotificationStatus.SENT

    await deliver(notify, cancelled("apt-1"))

    assert notify.repository.notifications["apt-1:reminder"].status is NotificationStatus.SENT


async def test_a_rescheduled_visit_is_reminded_of_its_new_slot_only() -> None:
    notify = FakeNotify()
    await deliver(notify, booked("apt-1"))
    new_slot = wib(7, 13)

    await deliver(notify, cancelled("apt-1", rescheduled_to="apt-9"))
    await deliver(notify, booked("apt-9", starts_at=new_slot, rescheduled_from="apt-1"))

    pending = {
        n.notification_id: n.next_attempt_at
        for n in notify.repository.notifications.values()
        if n.template == "appointment_reminder" and n.status is NotificationStatus.PENDING
    }
    assert pending == {"apt-9:reminder": wib(6, 8)}
