from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.notification import NotificationStatus, new_message, retry_delay
from services.notify.domain.quiet_hours import QuietHours
from shared.calendar import JAKARTA
from shared.events.envelope import Actor
from shared.events.models import (
    DeliveryChannel,
    NotificationChannel,
    NotificationFailed,
    NotificationSent,
)
from tests.builders import MOBILE, T0, notification

NOW = T0 + timedelta(minutes=1)
NOTIFY = Actor.system("notify")


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 2), (2, 4), (3, 8), (4, 16), (9, 512), (10, 600), (11, 600), (30, 600), (5000, 600)],
)
def test_retry_delay_doubles_from_two_seconds_up_to_ten_minutes(
    attempts: int, seconds: int
) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)


def test_a_retryable_failure_below_the_maximum_schedules_the_next_attempt() -> None:
    message = notification(attempts=2)

    message.mark_attempt_failed(
        reason="provider answered 503", retryable=True, max_attempts=5, now=NOW
    )

    assert message.attempts == 3
    assert message.status is NotificationStatus.PENDING
    assert message.next_attempt_at == NOW + timedelta(seconds=8)
    assert message.last_error == "provider answered 503"
    assert message.events == []


def test_a_retryable_failure_at_the_maximum_gives_up_and_says_so() -> None:
    message = notification(attempts=4)

    message.mark_attempt_failed(
        reason="provider answered 503", retryable=True, max_attempts=5, now=NOW
    )

    assert message.attempts == 5
    assert message.status is NotificationStatus.FAILED
    assert message.events == [
        NotificationFailed(
            actor=NOTIFY,
            notification_id=message.notification_id,
            about="req-1",
            channel=NotificationChannel.WHATSAPP,
            attempts=5,
            reason="provider answered 503",
            failed_at=NOW,
        )
    ]


def test_a_permanent_failure_gives_up_at_the_first_attempt() -> None:
    message = notification(attempts=0)

    message.mark_attempt_failed(
        reason="provider answered 400", retryable=False, max_attempts=5, now=NOW
    )

    assert message.status is NotificationStatus.FAILED
    assert message.attempts == 1
    assert message.last_error == "provider answered 400"
    [failed] = message.events
    assert isinstance(failed, NotificationFailed)
    assert failed.attempts == 1
    assert failed.reason == "provider answered 400"


def test_mark_sent_records_the_provider_id_and_emits_notification_sent() -> None:
    message = notification(attempts=1)

    message.mark_sent(provider_message_id="wamid.123", now=NOW)

    assert message.status is NotificationStatus.SENT
    assert message.attempts == 2
    assert message.provider_message_id == "wamid.123"
    assert message.events == [
        NotificationSent(
            actor=NOTIFY,
            notification_id=message.notification_id,
            about="req-1",
            channel=NotificationChannel.WHATSAPP,
            template="request_received",
            provider_message_id="wamid.123",
            sent_at=NOW,
        )
    ]


NIGHT = datetime(2025, 3, 3, 23, 0, tzinfo=JAKARTA).astimezone(UTC)


def test_a_new_message_is_pending_and_due_at_once_by_day() -> None:
    created = new_message(
        notification_id="evt-9:citizen",
        about="req-42",
        channel=DeliveryChannel.SMS,
        recipient=MOBILE,
        template="request_received",
        text="Permohonan KK baru diterima.",
        now=NOW,
        quiet_hours=QuietHours(),
    )

    assert created.status is NotificationStatus.PENDING
    assert created.attempts == 0
    assert created.next_attempt_at == NOW
    assert created.created_at == NOW
    assert created.can_wait is True


@pytest.mark.parametrize(
    ("template", "quiet_hours", "due"),
    [
        ("request_received", QuietHours(), datetime(2025, 3, 3, 23, 0, tzinfo=UTC)),
        ("request_received", None, NIGHT),
        ("sign_in_code", QuietHours(), NIGHT),
        ("conversation_reply", QuietHours(), NIGHT),
    ],
    ids=["held", "no-quiet-hours", "sign-in-code", "chat-reply"],
)
def test_at_night_only_what_the_citizen_waits_for_goes_out_at_once(
    template: str, quiet_hours: QuietHours | None, due: datetime
) -> None:
    created = new_message(
        notification_id="evt-9:citizen",
        about="req-42",
        channel=DeliveryChannel.SMS,
        recipient=MOBILE,
        template=template,
        text="…",
        now=NIGHT,
        quiet_hours=quiet_hours,
    )

    assert created.next_attempt_at == due
    assert created.created_at == NIGHT
