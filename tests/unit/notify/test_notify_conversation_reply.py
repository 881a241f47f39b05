"""Intake's replies in a citizen's chat: notify sends each as it is, once per event, on the
channel the citizen wrote on (a WhatsApp one going on by SMS if WhatsApp did not take it),
through its consumer like every other event."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notify.domain.notification import SMS_LONGEST, Notification, NotificationStatus
from services.notify.domain.quiet_hours import QuietHours
from services.notify.entrypoints.consumer import subscription
from services.notify.service_layer.delivery import Delivery
from shared.calendar import JAKARTA
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.conversations import ConversationReply
from shared.events.models.notifications import NotificationSent
from shared.events.models.values import DeliveryChannel, NotificationChannel
from tests.builders import T0
from tests.fakes import CallCounter, FakeClock, FakeMessageProvider, FakeNotify

TEXT = "Selamat datang di layanan Dispendukcapil.\n\nBalas dengan angka pilihan Anda:\n1. Akta"


def reply(
    channel: NotificationChannel = NotificationChannel.WHATSAPP, text: str = TEXT
) -> CloudEvent:
    event = ConversationReply(
        actor=Actor(kind=ActorKind.SYSTEM, id="intake", channel=Channel.WHATSAPP),
        reply_id="reply-1",
        phone="+6281234567890",
        channel=channel,
        text=text,
        in_reply_to="wamid.1",
    )
    return CloudEvent.wrap(event, source="/adminduk/intake", time=T0)


async def test_a_reply_is_sent_as_it_is_once_however_often_its_event_arrives() -> None:
    notify = FakeNotify()
    repository = notify.repository
    provider = FakeMessageProvider()
    dispatch = subscription.bind(notify.context, FakeClock(T0))
    event = reply()

    for _ in range(3):
        await dispatch(event)
    outbox_ready = CallCounter()
    repository.outgoing.register(outbox_ready)
    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=3,
        clock=FakeClock(T0),
    )
    await delivery.deliver_due()
    await delivery.drain()

    [queued] = notify.handed_over
    assert queued.notification_id == f"{event.id}:reply"
    [sent] = provider.sent
    assert sent.recipient == "+6281234567890"
    assert sent.channel is DeliveryChannel.WHATSAPP
    assert sent.text == TEXT
    assert sent.template == "conversation_reply"
    assert sent.about == "reply-1"
    stored = await repository.get(queued.notification_id)
    assert stored is not None
    assert stored.status is NotificationStatus.SENT
    assert [item.type for item in outbox_ready.events] == [NotificationSent.event_type]


async def stored_reply(event: CloudEvent) -> Notification:
    """The message notify stored for a reply's event, taken by day."""
    notify = FakeNotify()
    await subscription.bind(notify.context, FakeClock(T0))(event)
    stored = await notify.repository.get(f"{event.id}:reply")
    assert stored is not None
    return stored


async def test_a_reply_goes_out_on_the_channel_the_citizen_wrote_on_and_sms_has_no_other() -> None:
    stored = await stored_reply(reply(NotificationChannel.SMS))

    assert stored.channel is DeliveryChannel.SMS
    assert stored.fallbacks == ()


async def test_a_reply_at_night_goes_out_at_once() -> None:
    night = datetime(2025, 3, 3, 23, 30, tzinfo=JAKARTA).astimezone(UTC)
    notify = FakeNotify(quiet_hours=QuietHours())
    event = reply()

    await subscription.bind(notify.context, FakeClock(night))(event)

    stored = await notify.repository.get(f"{event.id}:reply")
    assert stored is not None
    assert stored.next_attempt_at == night


async def test_a_whatsapp_reply_no_one_can_say_went_out_goes_on_by_sms_once() -> None:
    notify = FakeNotify()
    dispatch = subscription.bind(notify.context, FakeClock(T0))
    event = reply()
    await dispatch(event)
    provider = FakeMessageProvider()
    provider.fail_next(1, retryable=True, maybe_accepted=True, reason="whatsapp unreachable")
    clock = FakeClock(T0)
    delivery = Delivery(
        repository=notify.repository, provider=provider, max_attempts=3, clock=clock
    )

    for _ in range(2):
        await delivery.deliver_due()
        await delivery.drain()
        clock.advance(delivery.uncertain_window)

    assert [(item.channel, item.text) for item in provider.attempts] == [
        (DeliveryChannel.WHATSAPP, TEXT),
        (DeliveryChannel.SMS, TEXT),
    ]
    stored = await notify.repository.get(f"{event.id}:reply")
    assert stored is not None
    assert (stored.status, stored.channel) == (NotificationStatus.SENT, DeliveryChannel.SMS)


async def test_a_reply_too_long_for_an_sms_has_no_sms_to_go_on_by() -> None:
    stored = await stored_reply(reply(text="x" * (SMS_LONGEST + 1)))

    assert stored.fallbacks == ()
