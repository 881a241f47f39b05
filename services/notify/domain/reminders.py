"""The reminder of a booked visit: the day before it, in the morning, Jakarta time.

Its notification id comes from the appointment alone, so a cancellation can call it off (or
forbid it in advance, if the cancellation arrives first) without knowing the booking's event.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from services.notify.domain.notification import Notification, NotificationStatus
from shared.calendar import JAKARTA
from shared.events.models.values import DeliveryChannel

REMINDER_TIME = time(8, 0)
"""When, the day before the visit, the reminder goes: early in the office day, outside quiet
hours."""
REMINDER_TEMPLATE = "appointment_reminder"
REMINDER_ROLE = "reminder"


def reminder_id(appointment_id: str) -> str:
    """`<appointment id>:reminder`, in the `<key>:<role>` form of every notification id."""
    return f"{appointment_id}:{REMINDER_ROLE}"


def reminder_due(starts_at: datetime, *, now: datetime) -> datetime | None:
    """08:00 WIB on the day before the visit; None when that moment has passed at booking (a
    visit booked for today or tomorrow after 08:00): the confirmation just sent reminds enough."""
    visit_day = starts_at.astimezone(JAKARTA).date()
    due = datetime.combine(visit_day - timedelta(days=1), REMINDER_TIME, tzinfo=JAKARTA)
    return None if due <= now else due.astimezone(UTC)


def cancelled_reminder(appointment_id: str, *, now: datetime) -> Notification:
    """The record of a reminder called off before it was queued: its id taken, so the booking's
    reminder, arriving later, is refused like any duplicate. It holds no contact and no text."""
    return Notification(
        notification_id=reminder_id(appointment_id),
        about=appointment_id,
        channel=DeliveryChannel.SMS,
        recipient="",
        template=REMINDER_TEMPLATE,
        text="",
        status=NotificationStatus.CANCELLED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
