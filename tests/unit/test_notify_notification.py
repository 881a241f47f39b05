from __future__ import annotations

from datetime import timedelta

import pytest

from services.notify.domain.notification import (
    NotificationStatus,
    case_opened_message,
    retry_delay,
)
from shared.events.envelope import Actor
from shared.events.models import NotificationChannel, NotificationFailed, NotificationSent
from tests.builders import MOBILE, T0, case_opened, notification

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
            template="case_opened",
            provider_message_id="wamid.123",
            sent_at=NOW,
        )
    ]


def test_the_case_opened_message_tells_the_citizen_in_indonesian_that_it_is_free() -> None:
    opened = case_opened("req-42")

    message = case_opened_message("evt-9", opened, recipient=MOBILE, now=NOW)

    assert message.text.startswith("Yth. Siti Aminah, permohonan KK_BARU Anda sudah kami terima")
    assert "sedang diproses" in message.text
    assert "req-42" in message.text
    assert "GRATIS" in message.text
    assert message.notification_id == "evt-9:citizen"
    assert message.about == "req-42"
    assert message.recipient == opened.contact_phone
    assert message.channel is NotificationChannel.SMS
    assert message.template == "case_opened"
    assert message.status is NotificationStatus.PENDING
    assert message.attempts == 0
    assert message.next_attempt_at == NOW


def test_one_event_always_gives_the_same_message_id_and_another_event_another() -> None:
    opened = case_opened("req-42")

    first = case_opened_message("evt-9", opened, recipient=MOBILE, now=NOW)
    again = case_opened_message("evt-9", opened, recipient=MOBILE, now=NOW + timedelta(hours=1))
    other = case_opened_message("evt-10", opened, recipient=MOBILE, now=NOW)

    assert first.notification_id == again.notification_id
    assert first.notification_id != other.notification_id
