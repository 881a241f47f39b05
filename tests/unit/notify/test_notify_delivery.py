from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.notification import Notification, NotificationStatus, longest_wait
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import ChannelLimit
from services.notify.service_layer.delivery import Delivery
from services.notify.service_layer.messages import queue_receipt
from services.notify.service_layer.outgoing import MessageContext
from shared.calendar import JAKARTA
from shared.events.models.notifications import NotificationFailed, NotificationSent
from shared.events.models.values import DeliveryChannel
from tests.builders import T0, notification, request_submitted
from tests.fakes import (
    CallCounter,
    FakeClock,
    FakeMessageProvider,
    FakeNotificationRepository,
    FakeNotify,
)


@pytest.fixture
def repository() -> FakeNotificationRepository:
    return FakeNotificationRepository()


@pytest.fixture
def provider() -> FakeMessageProvider:
    return FakeMessageProvider()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def outbox_ready(repository: FakeNotificationRepository) -> CallCounter:
    counter = CallCounter()
    repository.outgoing.register(counter)
    return counter


async def deliver(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    *,
    max_attempts: int = 3,
) -> int:
    return await sweep(
        Delivery(
            repository=repository,
            provider=provider,
            max_attempts=max_attempts,
            clock=clock,
            draw=longest_wait,
        )
    )


async def sweep(delivery: Delivery, *, batch_size: int = 50) -> int:
    """Starts every due attempt and waits for them all to be recorded."""
    started = await delivery.deliver_due(batch_size)
    await delivery.drain()
    return started


async def named(delivery: Delivery, notification_ids: list[str]) -> int:
    started = await delivery.deliver(notification_ids)
    await delivery.drain()
    return started


def handing_to(repository: FakeNotificationRepository, delivery: Delivery) -> MessageContext:
    """The message use cases storing in `repository` and handing over to `delivery`."""
    return dataclasses.replace(
        FakeNotify().context,
        repository=repository,
        delivery_ready=delivery.hold,
        claim_first_attempt=delivery.claim_first_attempt,
    )


class CountingReads(FakeNotificationRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def get(self, notification_id: str) -> Notification | None:
        self.reads.append(notification_id)
        return await super().get(notification_id)


async def test_a_handed_over_message_is_sent_without_being_read_back(
    provider: FakeMessageProvider, clock: FakeClock, outbox_ready: CallCounter
) -> None:
    repository = CountingReads()
    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=3,
        clock=clock,
    )
    await queue_receipt(
        submitted=request_submitted("req-1"),
        event_id="evt-1",
        context=handing_to(repository, delivery),
        now=T0,
    )

    assert await named(delivery, ["evt-1:citizen"]) == 1
    assert await named(delivery, ["evt-1:citizen"]) == 0

    assert [n.notification_id for n in provider.sent] == ["evt-1:citizen"]
    assert repository.reads == ["evt-1:citizen"]
    stored = repository.notifications["evt-1:citizen"]
    assert stored.status is NotificationStatus.SENT


async def test_a_due_message_is_sent_and_announced(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("n-1", next_attempt_at=T0))

    tried = await deliver(repository, provider, clock)

    assert tried == 1
    assert [sent.notification_id for sent in provider.sent] == ["n-1"]
    stored = repository.notifications["n-1"]
    assert stored.status is NotificationStatus.SENT
    assert stored.provider_message_id == "provider-1"
    assert stored.attempts == 1
    [event] = repository.outbox
    assert event.type == NotificationSent.event_type
    assert event.subject == "req-1"
    assert event.source == "/adminduk/notify"
    assert NotificationSent.model_validate(event.data).provider_message_id == "provider-1"
    assert outbox_ready.calls == 1
    assert await deliver(repository, provider, clock) == 0
    assert len(provider.attempts) == 1


async def test_only_due_messages_are_tried(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("now", next_attempt_at=T0))
    await repository.add(notification("later", next_attempt_at=T0 + timedelta(seconds=1)))

    assert await deliver(repository, provider, clock) == 1

    assert [attempt.notification_id for attempt in provider.attempts] == ["now"]
    assert repository.notifications["later"].status is NotificationStatus.PENDING


async def test_a_retryable_failure_reschedules_quietly_then_succeeds(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("n-1", next_attempt_at=T0))
    provider.fail_next(1, retryable=True, reason="provider answered 503")

    assert await deliver(repository, provider, clock) == 1

    stored = repository.notifications["n-1"]
    assert stored.status is NotificationStatus.PENDING
    assert stored.attempts == 1
    assert stored.last_error == "provider answered 503"
    assert stored.next_attempt_at == T0 + timedelta(seconds=2)
    assert repository.outbox == []
    assert outbox_ready.calls == 0

    clock.advance(timedelta(seconds=1))
    assert await deliver(repository, provider, clock) == 0
    clock.advance(timedelta(seconds=1))
    assert await deliver(repository, provider, clock) == 1

    assert repository.notifications["n-1"].status is NotificationStatus.SENT
    assert repository.notifications["n-1"].attempts == 2
    assert [event.type for event in repository.outbox] == [NotificationSent.event_type]
    assert outbox_ready.calls == 1


async def test_retryable_failures_give_up_at_the_maximum_attempts(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("n-1", next_attempt_at=T0))
    provider.fail_next(3, retryable=True, reason="provider unreachable: ConnectError")

    for _ in range(3):
        assert await deliver(repository, provider, clock, max_attempts=3) == 1
        clock.advance(timedelta(minutes=10))

    assert await deliver(repository, provider, clock, max_attempts=3) == 0
    stored = repository.notifications["n-1"]
    assert stored.status is NotificationStatus.FAILED
    assert stored.attempts == 3
    [event] = repository.outbox
    assert event.type == NotificationFailed.event_type
    failed = NotificationFailed.model_validate(event.data)
    assert failed.attempts == 3
    assert failed.reason == "provider unreachable: ConnectError"
    assert outbox_ready.calls == 1
    assert provider.sent == []


async def test_a_permanent_failure_on_the_only_channel_gives_up_at_once(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("n-1", next_attempt_at=T0))
    provider.fail_next(1, retryable=False, reason="provider answered 400")

    await deliver(repository, provider, clock, max_attempts=8)

    assert repository.notifications["n-1"].status is NotificationStatus.FAILED
    assert [event.type for event in repository.outbox] == [NotificationFailed.event_type]
    assert NotificationFailed.model_validate(repository.outbox[0].data).attempts == 1
    assert outbox_ready.calls == 1


async def test_one_failing_message_does_not_hold_back_the_others(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("first", next_attempt_at=T0 - timedelta(seconds=2)))
    await repository.add(notification("second", next_attempt_at=T0 - timedelta(seconds=1)))
    provider.fail_next(1, retryable=False)

    assert await deliver(repository, provider, clock) == 2

    assert repository.notifications["first"].status is NotificationStatus.FAILED
    assert repository.notifications["second"].status is NotificationStatus.SENT
    assert [event.type for event in repository.outbox] == [
        NotificationFailed.event_type,
        NotificationSent.event_type,
    ]


async def test_named_messages_are_tried_only_while_pending_and_due(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    await repository.add(notification("due", next_attempt_at=T0))
    await repository.add(notification("later", next_attempt_at=T0 + timedelta(minutes=1)))
    await repository.add(notification("done", next_attempt_at=T0, status=NotificationStatus.SENT))

    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=3,
        clock=clock,
    )
    tried = await named(delivery, ["due", "later", "done", "unknown"])

    assert tried == 1
    assert [sent.notification_id for sent in provider.sent] == ["due"]
    assert repository.notifications["due"].status is NotificationStatus.SENT
    assert repository.notifications["later"].status is NotificationStatus.PENDING
    assert outbox_ready.keys == ["due"]


class SlowProvider:
    """Takes a while per message and remembers how many it handled at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0

    async def send(self, notification: Notification) -> str:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        return f"id-{notification.notification_id}"


async def test_messages_are_sent_concurrently_up_to_the_channels_limit(
    repository: FakeNotificationRepository, clock: FakeClock, outbox_ready: CallCounter
) -> None:
    for n in range(10):
        await repository.add(notification(f"n-{n}", next_attempt_at=T0))
    provider = SlowProvider()
    limit = ChannelLimit(rate_per_s=1000.0, burst=1000.0, concurrency=3)

    tried = await sweep(
        Delivery(
            repository=repository,
            provider=provider,
            max_attempts=3,
            clock=clock,
            limits={DeliveryChannel.WHATSAPP: limit},
        )
    )

    assert tried == 10
    assert provider.most_in_flight == 3
    assert {n.status for n in repository.notifications.values()} == {NotificationStatus.SENT}


async def test_a_held_message_the_sweep_sent_first_is_not_sent_again(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=3,
        clock=clock,
    )
    await queue_receipt(
        submitted=request_submitted("req-1"),
        event_id="evt-1",
        context=handing_to(repository, delivery),
        now=T0,
    )

    assert await sweep(delivery) == 1
    assert await named(delivery, ["evt-1:citizen"]) == 0

    assert [n.notification_id for n in provider.sent] == ["evt-1:citizen"]


WIB_NIGHT = datetime(2025, 3, 3, 20, 59, 50, tzinfo=JAKARTA).astimezone(UTC)


async def test_a_retry_that_comes_due_in_quiet_hours_waits_untried_until_six(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    outbox_ready: CallCounter,
) -> None:
    clock = FakeClock(WIB_NIGHT)
    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=5,
        clock=clock,
        quiet_hours=QuietHours(),
        draw=longest_wait,
    )
    await repository.add(notification("n-1", next_attempt_at=WIB_NIGHT))
    provider.fail_next(1, retryable=True)

    assert await sweep(delivery) == 1
    clock.advance(timedelta(seconds=10))
    assert await sweep(delivery) == 1

    held = repository.notifications["n-1"]
    assert held.attempts == 1
    assert held.next_attempt_at == datetime(2025, 3, 3, 23, 0, tzinfo=UTC)
    assert len(provider.attempts) == 1
    clock.current = held.next_attempt_at - timedelta(seconds=1)
    assert await sweep(delivery) == 0
    clock.current = held.next_attempt_at
    assert await sweep(delivery) == 1
    assert repository.notifications["n-1"].status is NotificationStatus.SENT


async def test_answers_go_out_in_quiet_hours(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    outbox_ready: CallCounter,
) -> None:
    night = WIB_NIGHT + timedelta(hours=1)
    for name, template in [("code", "sign_in_code"), ("reply", "conversation_reply")]:
        await repository.add(
            dataclasses.replace(notification(name, next_attempt_at=night), template=template)
        )

    tried = await sweep(
        Delivery(
            repository=repository,
            provider=provider,
            max_attempts=3,
            clock=FakeClock(night),
            quiet_hours=QuietHours(),
        )
    )

    assert tried == 2
    assert sorted(sent.notification_id for sent in provider.sent) == ["code", "reply"]


async def test_messages_due_at_one_moment_go_out_in_the_order_they_were_created(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    night = T0 - timedelta(hours=9)
    for name, minute in [("second", 2), ("third", 3), ("first", 1)]:
        created_at = night + timedelta(minutes=minute)
        await repository.add(notification(name, next_attempt_at=T0, created_at=created_at))

    await deliver(repository, provider, clock)

    assert [sent.notification_id for sent in provider.sent] == ["first", "second", "third"]


async def test_a_backlog_larger_than_a_batch_is_sent_in_one_sweep(
    repository: FakeNotificationRepository,
    provider: FakeMessageProvider,
    clock: FakeClock,
    outbox_ready: CallCounter,
) -> None:
    for n in range(7):
        await repository.add(
            notification(f"n-{n}", next_attempt_at=T0, created_at=T0 - timedelta(minutes=7 - n))
        )

    tried = await sweep(
        Delivery(
            repository=repository,
            provider=provider,
            max_attempts=3,
            clock=clock,
        ),
        batch_size=3,
    )

    assert tried == 7
    assert [sent.notification_id for sent in provider.sent] == [f"n-{n}" for n in range(7)]
