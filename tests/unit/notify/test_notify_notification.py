from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.notification import (
    Leg,
    Notification,
    NotificationStatus,
    new_message,
    retry_delay,
)
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import TokenBucket
from services.notify.domain.route import phone_fallback
from services.notify.service_layer.statuses import MessageHistory
from shared.calendar import JAKARTA
from shared.events.envelope import Actor
from shared.events.models.notifications import ChannelTried, NotificationFailed, NotificationSent
from shared.events.models.values import DeliveryChannel
from tests.builders import MOBILE, T0, notification

NOW = T0 + timedelta(minutes=1)
NOTIFY = Actor.system("notify")
WINDOW = timedelta(minutes=15)
SMS_LEG = Leg(channel=DeliveryChannel.SMS, recipient=MOBILE, text="KK baru diterima.")


def whatsapp_then_sms(attempts: int = 0) -> Notification:
    return dataclasses.replace(notification(attempts=attempts), fallbacks=(SMS_LEG,))


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 2), (2, 4), (3, 8), (4, 16), (9, 512), (10, 600), (11, 600), (5000, 600)],
)
def test_the_backoff_ceiling_doubles_from_two_seconds_up_to_ten_minutes(
    attempts: int, seconds: int
) -> None:
    assert retry_delay(attempts) == timedelta(seconds=seconds)


@pytest.mark.parametrize("drawn", [0.0, 0.25, 0.999])
def test_full_jitter_waits_the_drawn_share_of_the_ceiling(drawn: float) -> None:
    assert retry_delay(4, draw=lambda: drawn) == timedelta(seconds=16) * drawn


@pytest.mark.parametrize(
    ("drawn", "asked", "expected"),
    [(0.1, 30, 30), (1.0, 3, 8), (0.0, 3600, 3600)],
    ids=["asked-longer", "backoff-longer", "beyond-the-cap"],
)
def test_a_retry_never_comes_sooner_than_the_provider_asked(
    drawn: float, asked: int, expected: int
) -> None:
    delay = retry_delay(3, retry_after=timedelta(seconds=asked), draw=lambda: drawn)

    assert delay == timedelta(seconds=expected)


def test_a_retryable_failure_below_the_maximum_schedules_the_next_attempt() -> None:
    message = notification(attempts=2)

    message.mark_attempt_failed(
        reason="provider answered 503",
        retryable=True,
        max_attempts=5,
        now=NOW,
        draw=lambda: 0.5,
    )

    assert message.attempts == 3
    assert message.status is NotificationStatus.PENDING
    assert message.next_attempt_at == NOW + timedelta(seconds=4)
    assert message.last_error == "provider answered 503"
    assert message.events == []


def test_the_last_retry_on_the_only_channel_dead_letters_with_each_channel_tried() -> None:
    message = notification(attempts=4)

    message.mark_attempt_failed(
        reason="provider answered 503", retryable=True, max_attempts=5, now=NOW
    )

    assert message.attempts == 5
    assert message.status is NotificationStatus.FAILED
    tried = ChannelTried(
        channel=DeliveryChannel.WHATSAPP, attempts=5, reason="provider answered 503"
    )
    assert message.tried == (tried,)
    assert message.events == [
        NotificationFailed(
            actor=NOTIFY,
            notification_id=message.notification_id,
            about="req-1",
            channel=DeliveryChannel.WHATSAPP,
            attempts=5,
            reason="provider answered 503",
            failed_at=NOW,
            tried=[tried],
        )
    ]


def test_a_permanent_failure_falls_back_to_the_next_channel_with_its_own_key() -> None:
    message = whatsapp_then_sms(attempts=0)
    first_key = message.idempotency_key

    message.mark_attempt_failed(
        reason="whatsapp error 131026", retryable=False, max_attempts=5, now=NOW
    )

    assert message.status is NotificationStatus.PENDING
    assert (message.channel, message.recipient, message.text) == (
        DeliveryChannel.SMS,
        MOBILE,
        "KK baru diterima.",
    )
    assert message.approved_template is None
    assert message.attempts == 0
    assert message.next_attempt_at == NOW
    assert message.fallbacks == ()
    assert message.tried == (
        ChannelTried(channel=DeliveryChannel.WHATSAPP, attempts=1, reason="whatsapp error 131026"),
    )
    assert message.idempotency_key != first_key
    assert message.idempotency_key == f"{message.notification_id}:SMS"
    assert message.events == []


def test_when_every_channel_failed_the_dead_letter_names_them_in_order() -> None:
    message = whatsapp_then_sms()
    message.mark_attempt_failed(reason="whatsapp 400", retryable=False, max_attempts=3, now=NOW)
    for _ in range(3):
        message.mark_attempt_failed(reason="sms 503", retryable=True, max_attempts=3, now=NOW)

    assert message.status is NotificationStatus.FAILED
    [failed] = message.events
    assert isinstance(failed, NotificationFailed)
    assert (failed.channel, failed.attempts, failed.reason) == (DeliveryChannel.SMS, 3, "sms 503")
    assert [(item.channel, item.attempts, item.reason) for item in failed.tried] == [
        (DeliveryChannel.WHATSAPP, 1, "whatsapp 400"),
        (DeliveryChannel.SMS, 3, "sms 503"),
    ]
    assert MOBILE not in failed.model_dump_json()


def test_mark_sent_records_the_provider_id_and_emits_notification_sent() -> None:
    message = notification(attempts=1)

    message.mark_sent(provider_message_id="wamid.123", now=NOW)

    assert message.status is NotificationStatus.SENT
    assert message.attempts == 2
    assert message.provider_message_id == "wamid.123"
    assert message.sent_at == NOW
    assert message.events == [
        NotificationSent(
            actor=NOTIFY,
            notification_id=message.notification_id,
            about="req-1",
            channel=DeliveryChannel.WHATSAPP,
            template="request_received",
            provider_message_id="wamid.123",
            sent_at=NOW,
        )
    ]


def test_an_attempt_in_flight_is_leased() -> None:
    message = notification()

    message.start_attempt(now=NOW, lease=timedelta(seconds=60))

    assert message.status is NotificationStatus.SENDING
    assert message.next_attempt_at == NOW + timedelta(seconds=60)


def test_an_unanswered_attempt_is_made_again_where_the_provider_dedupes() -> None:
    message = notification(attempts=1)
    message.start_attempt(now=T0, lease=timedelta(seconds=60))

    message.resume_in_flight(resend_safe=True, now=NOW, window=WINDOW)

    assert message.status is NotificationStatus.PENDING
    assert message.next_attempt_at == NOW
    assert message.attempts == 1


def test_an_unanswered_attempt_waits_for_a_status_where_resending_could_double_it() -> None:
    message = whatsapp_then_sms()
    message.start_attempt(now=T0, lease=timedelta(seconds=60))

    message.resume_in_flight(resend_safe=False, now=NOW, window=WINDOW)

    assert message.status is NotificationStatus.UNCERTAIN
    assert message.next_attempt_at == NOW + WINDOW
    assert message.channel is DeliveryChannel.WHATSAPP
    assert message.events == []


@pytest.mark.parametrize("status", [NotificationStatus.SENDING, NotificationStatus.UNCERTAIN])
def test_a_delivery_status_settles_an_attempt_in_doubt_as_sent(
    status: NotificationStatus,
) -> None:
    message = dataclasses.replace(whatsapp_then_sms(), status=status)

    assert message.resolve_uncertain(provider_message_id="wamid.9", now=NOW) is True

    assert message.status is NotificationStatus.SENT
    assert message.provider_message_id == "wamid.9"
    assert [type(event) for event in message.events] == [NotificationSent]


@pytest.mark.parametrize("status", [NotificationStatus.SENT, NotificationStatus.PENDING])
def test_a_delivery_status_changes_nothing_that_was_not_in_doubt(
    status: NotificationStatus,
) -> None:
    message = dataclasses.replace(notification(), status=status)

    assert message.resolve_uncertain(provider_message_id="wamid.9", now=NOW) is False
    assert message.status is status
    assert message.events == []


def test_without_a_status_in_the_window_the_next_channel_is_tried_never_the_same() -> None:
    message = whatsapp_then_sms()
    message.mark_uncertain(reason="provider timed out", now=T0, window=WINDOW)

    message.give_up_uncertain(now=NOW)

    assert message.status is NotificationStatus.PENDING
    assert message.channel is DeliveryChannel.SMS
    [tried] = message.tried
    assert (tried.channel, tried.attempts) == (DeliveryChannel.WHATSAPP, 1)
    assert tried.reason == "no delivery status after: provider timed out"


def test_without_a_status_or_another_channel_the_message_is_dead_lettered() -> None:
    message = notification()
    message.mark_uncertain(reason="provider timed out", now=T0, window=WINDOW)

    message.give_up_uncertain(now=NOW)

    assert message.status is NotificationStatus.FAILED
    [failed] = message.events
    assert isinstance(failed, NotificationFailed)
    assert failed.reason == "no delivery status after: provider timed out"


@pytest.mark.parametrize(
    ("preferred", "fallback"),
    [
        (DeliveryChannel.WHATSAPP, (DeliveryChannel.SMS,)),
        (DeliveryChannel.SMS, ()),
        (DeliveryChannel.EMAIL, ()),
    ],
)
def test_a_phone_falls_back_from_whatsapp_to_sms_and_no_further(
    preferred: DeliveryChannel, fallback: tuple[DeliveryChannel, ...]
) -> None:
    assert phone_fallback(preferred) == fallback


NIGHT = datetime(2025, 3, 3, 23, 0, tzinfo=JAKARTA).astimezone(UTC)


def test_a_new_message_starts_on_the_first_channel_of_its_route() -> None:
    whatsapp = Leg(channel=DeliveryChannel.WHATSAPP, recipient=MOBILE, text="Permohonan diterima.")
    created = new_message(
        notification_id="evt-9:citizen",
        about="req-42",
        route=(whatsapp, SMS_LEG),
        template="request_received",
        now=NOW,
        quiet_hours=QuietHours(),
    )

    assert created.status is NotificationStatus.PENDING
    assert (created.channel, created.text) == (DeliveryChannel.WHATSAPP, "Permohonan diterima.")
    assert created.fallbacks == (SMS_LEG,)
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
        route=(SMS_LEG,),
        template=template,
        now=NIGHT,
        quiet_hours=quiet_hours,
    )

    assert created.next_attempt_at == due
    assert created.created_at == NIGHT


def test_a_token_bucket_lets_a_burst_through_then_spaces_sends_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=2.0)

    waits = [bucket.reserve(10.0) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.5, 1.0]


def test_a_token_bucket_refills_with_time_up_to_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=2.0)
    for _ in range(3):
        bucket.reserve(0.0)

    assert bucket.reserve(1.0) == 0.0
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == 0.5


def test_a_token_bucket_refuses_a_rate_it_could_never_serve() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate_per_s=0.0, burst=1.0)


def test_a_message_a_provider_took_shows_when_even_without_its_reports() -> None:
    """The local sink and some SMS gateways report nothing: the message still went out then."""
    message = notification()
    message.mark_sent(provider_message_id="sms-1", now=NOW)

    assert MessageHistory(notification=message, deliveries=[]).sent_at == NOW
    assert MessageHistory(notification=notification(), deliveries=[]).sent_at is None
