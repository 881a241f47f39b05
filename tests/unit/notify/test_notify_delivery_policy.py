"""Delivery's policy on fakes: fallback along the route, dead letters, backoff and Retry-After,
attempts in flight across crashes and instances, and one lane per channel."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, ServerSelectionTimeoutError

from services.notify.domain.delivery_status import DeliveryRecord, SeenStatus
from services.notify.domain.notification import (
    Leg,
    Notification,
    NotificationStatus,
    longest_wait,
)
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import ChannelLimit
from services.notify.service_layer.delivery import Delivery
from services.notify.service_layer.ports import ProviderError
from shared.calendar import JAKARTA
from shared.events.envelope import CloudEvent
from shared.events.models.notifications import NotificationFailed, NotificationSent
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from tests.builders import MOBILE, T0, notification
from tests.fakes import CallCounter, FakeClock, FakeNotificationRepository
from tests.polling import eventually

WHATSAPP, SMS = DeliveryChannel.WHATSAPP, DeliveryChannel.SMS
SMS_LEG = Leg(channel=SMS, recipient=MOBILE, text="Permohonan KK baru diterima.")
LEASE = timedelta(seconds=60)
WINDOW = timedelta(minutes=15)


class ScriptedProvider:
    """Answers each channel's calls from its script (errors to raise, in order), then accepts."""

    def __init__(self) -> None:
        self.calls: list[tuple[DeliveryChannel, str]] = []
        self.accepted: list[tuple[DeliveryChannel, str]] = []
        self.scripts: dict[DeliveryChannel, list[ProviderError]] = {}
        self.during_call: Callable[[], None] = lambda: None

    def fail(self, channel: DeliveryChannel, *errors: ProviderError) -> None:
        self.scripts.setdefault(channel, []).extend(errors)

    async def send(self, notification: Notification) -> str:
        self.calls.append((notification.channel, notification.idempotency_key))
        self.during_call()
        if script := self.scripts.get(notification.channel):
            raise script.pop(0)
        self.accepted.append((notification.channel, notification.idempotency_key))
        return f"{notification.channel.value.lower()}-{len(self.accepted)}"


@dataclasses.dataclass
class World:
    repository: FakeNotificationRepository
    provider: ScriptedProvider
    clock: FakeClock
    outbox_ready: CallCounter

    def delivery(self, **overrides: Any) -> Delivery:
        """A delivery instance of its own (its own lanes and tasks) on the shared store."""
        base = Delivery(
            repository=self.repository,
            provider=self.provider,
            max_attempts=3,
            clock=self.clock,
            lease=LEASE,
            uncertain_window=WINDOW,
            draw=longest_wait,
        )
        return dataclasses.replace(base, **overrides)

    async def sweep(self, delivery: Delivery | None = None) -> int:
        delivery = delivery or self.delivery()
        started = await delivery.deliver_due()
        await delivery.drain()
        return started

    def stored(self, notification_id: str = "n-1") -> Notification:
        return self.repository.notifications[notification_id]

    def events(self) -> list[str]:
        return [event.type for event in self.repository.outbox]


@pytest.fixture
def world() -> World:
    repository, outbox_ready = FakeNotificationRepository(), CallCounter()
    repository.outgoing.register(outbox_ready)
    return World(repository, ScriptedProvider(), FakeClock(T0), outbox_ready)


def whatsapp_then_sms(
    notification_id: str = "n-1", *, next_attempt_at: datetime = T0
) -> Notification:
    base = notification(notification_id, next_attempt_at=next_attempt_at)
    return dataclasses.replace(base, fallbacks=(SMS_LEG,))


def sms(notification_id: str = "n-1", *, next_attempt_at: datetime = T0) -> Notification:
    base = notification(notification_id, next_attempt_at=next_attempt_at)
    return dataclasses.replace(base, channel=SMS)


def permanent(reason: str = "whatsapp error 131026") -> ProviderError:
    return ProviderError(reason, retryable=False)


async def test_a_permanent_whatsapp_failure_falls_back_to_one_sms(world: World) -> None:
    await world.repository.add(whatsapp_then_sms())
    world.provider.fail(WHATSAPP, permanent())

    assert await world.sweep() == 1

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP"), (SMS, "n-1:SMS")]
    assert world.provider.accepted == [(SMS, "n-1:SMS")]
    stored = world.stored()
    assert (stored.status, stored.channel, stored.provider_message_id) == (
        NotificationStatus.SENT,
        SMS,
        "sms-1",
    )
    assert [(item.channel, item.reason) for item in stored.tried] == [
        (WHATSAPP, "whatsapp error 131026")
    ]
    assert world.events() == [NotificationSent.event_type]
    assert await world.sweep() == 0


async def test_a_message_no_channel_took_is_dead_lettered_with_every_channel(
    world: World,
) -> None:
    await world.repository.add(whatsapp_then_sms())
    world.provider.fail(WHATSAPP, permanent())
    world.provider.fail(SMS, *(ProviderError("sms gateway 503", retryable=True) for _ in range(3)))

    for _ in range(3):
        await world.sweep()
        world.clock.advance(timedelta(minutes=10))

    stored = world.stored()
    assert stored.status is NotificationStatus.FAILED
    assert world.events() == [NotificationFailed.event_type]
    failed = NotificationFailed.model_validate(world.repository.outbox[0].data)
    assert [(item.channel, item.attempts) for item in failed.tried] == [(WHATSAPP, 1), (SMS, 3)]
    assert failed.reason == "sms gateway 503"
    assert world.provider.accepted == []
    assert world.outbox_ready.keys == ["n-1"]


async def test_retries_wait_a_jittered_share_of_the_backoff(world: World) -> None:
    await world.repository.add(notification("n-1"))
    world.provider.fail(WHATSAPP, ProviderError("timeout", retryable=True))

    await world.sweep(world.delivery(draw=lambda: 0.25))

    assert world.stored().next_attempt_at == T0 + timedelta(seconds=0.5)


async def test_a_retry_waits_at_least_as_long_as_the_provider_asked(world: World) -> None:
    await world.repository.add(notification("n-1"))
    world.provider.fail(
        WHATSAPP, ProviderError("429", retryable=True, retry_after=timedelta(seconds=30))
    )

    await world.sweep()
    world.clock.advance(timedelta(seconds=29))
    await world.sweep()

    assert len(world.provider.calls) == 1
    world.clock.advance(timedelta(seconds=1))
    await world.sweep()
    assert world.provider.accepted == [(WHATSAPP, "n-1:WHATSAPP")]


def in_flight(base: Notification, *, since: datetime) -> Notification:
    """As a crash leaves it: stored in flight, the provider's answer never recorded."""
    return dataclasses.replace(
        base, status=NotificationStatus.SENDING, next_attempt_at=since + LEASE
    )


async def test_an_sms_left_in_flight_is_resent_under_its_key_once_the_lease_ends(
    world: World,
) -> None:
    await world.repository.add(in_flight(sms(), since=T0))

    assert await world.sweep() == 0
    world.clock.advance(LEASE)
    assert await world.sweep() == 1

    assert world.provider.calls == [(SMS, "n-1:SMS")]
    assert world.stored().status is NotificationStatus.SENT


async def test_a_whatsapp_left_in_flight_is_not_resent_but_held_for_its_status(
    world: World,
) -> None:
    await world.repository.add(in_flight(whatsapp_then_sms(), since=T0))
    world.clock.advance(LEASE)
    await world.sweep()

    assert world.provider.calls == []
    assert world.stored().status is NotificationStatus.UNCERTAIN
    delivery = world.delivery()

    settled = await delivery.resolve_uncertain(
        idempotency_key="n-1:WHATSAPP", provider_message_id="wamid.7"
    )

    assert settled is True
    assert (world.stored().status, world.stored().provider_message_id) == (
        NotificationStatus.SENT,
        "wamid.7",
    )
    assert world.events() == [NotificationSent.event_type]
    again = await delivery.resolve_uncertain(
        idempotency_key="n-1:WHATSAPP", provider_message_id="wamid.7"
    )
    assert again is False
    assert world.events() == [NotificationSent.event_type]


async def test_a_status_for_a_channel_the_message_left_settles_nothing(world: World) -> None:
    await world.repository.add(whatsapp_then_sms())

    settled = await world.delivery().resolve_uncertain(
        idempotency_key="n-1:SMS", provider_message_id="sms-9"
    )

    assert settled is False
    assert world.stored().status is NotificationStatus.PENDING


async def test_without_a_status_in_the_window_the_message_goes_by_the_next_channel(
    world: World,
) -> None:
    await world.repository.add(in_flight(whatsapp_then_sms(), since=T0))
    world.clock.advance(LEASE)
    await world.sweep()

    world.clock.advance(WINDOW - timedelta(seconds=1))
    await world.sweep()
    assert world.provider.calls == []
    world.clock.advance(timedelta(seconds=1))
    await world.sweep()

    assert world.provider.calls == [(SMS, "n-1:SMS")]
    assert world.stored().status is NotificationStatus.SENT


async def test_a_whatsapp_timeout_is_held_in_doubt_and_an_sms_timeout_retried(
    world: World,
) -> None:
    await world.repository.add(whatsapp_then_sms("wa"))
    await world.repository.add(sms("sms"))
    timeout = ProviderError("provider timed out", retryable=True, maybe_accepted=True)
    world.provider.fail(WHATSAPP, timeout)
    world.provider.fail(SMS, timeout)

    await world.sweep()
    world.clock.advance(timedelta(seconds=2))
    await world.sweep()

    assert world.stored("wa").status is NotificationStatus.UNCERTAIN
    assert world.stored("sms").status is NotificationStatus.SENT
    assert world.provider.calls.count((WHATSAPP, "wa:WHATSAPP")) == 1
    assert world.provider.calls.count((SMS, "sms:SMS")) == 2


async def test_of_two_instances_that_read_a_message_pending_only_one_sends_it(
    world: World,
) -> None:
    await world.repository.add(notification("n-1"))
    stale = await world.repository.get("n-1")
    assert stale is not None
    first, second = world.delivery(), world.delivery()
    first.hold(stale)
    second.hold(dataclasses.replace(stale))

    await asyncio.gather(first.deliver(["n-1"]), second.deliver(["n-1"]))
    await asyncio.gather(first.drain(), second.drain())

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]
    assert world.events() == [NotificationSent.event_type]


async def test_a_slow_whatsapp_holds_up_neither_sms_nor_the_loop(world: World) -> None:
    released = asyncio.Event()

    class HangingWhatsApp(ScriptedProvider):
        async def send(self, notification: Notification) -> str:
            if notification.channel is WHATSAPP:
                await released.wait()
            return await super().send(notification)

    world.provider = HangingWhatsApp()
    await world.repository.add(notification("wa"))
    await world.repository.add(sms("sms"))
    delivery = world.delivery()

    assert await asyncio.wait_for(delivery.deliver_due(), timeout=1) == 2
    await eventually(
        lambda: world.stored("sms").status is NotificationStatus.SENT, what="the SMS sent"
    )

    assert world.stored("wa").status is NotificationStatus.SENDING
    released.set()
    await delivery.drain()
    assert world.stored("wa").status is NotificationStatus.SENT


async def test_each_channel_is_held_to_its_rate(world: World) -> None:
    for n in range(3):
        await world.repository.add(sms(f"s-{n}"))
    await world.repository.add(notification("wa"))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    limits = {
        SMS: ChannelLimit(rate_per_s=1.0, burst=1.0, concurrency=1),
        WHATSAPP: ChannelLimit(rate_per_s=50.0, burst=50.0, concurrency=1),
    }
    await world.sweep(world.delivery(limits=limits, sleep=sleep, monotonic=lambda: 0.0))

    assert sorted(waits) == [0.0, 0.0, 1.0, 2.0]
    assert len(world.provider.accepted) == 4


async def test_quiet_hours_hold_the_fallback_of_a_message_that_can_wait(world: World) -> None:
    before_nine = datetime(2025, 3, 3, 20, 59, 59, tzinfo=JAKARTA).astimezone(UTC)
    world.clock.current = before_nine
    await world.repository.add(whatsapp_then_sms(next_attempt_at=before_nine))
    world.provider.fail(WHATSAPP, permanent())
    world.provider.during_call = lambda: world.clock.advance(timedelta(seconds=2))

    await world.sweep(world.delivery(quiet_hours=QuietHours()))

    held = world.stored()
    assert (held.status, held.channel) == (NotificationStatus.PENDING, SMS)
    assert held.next_attempt_at == datetime(2025, 3, 3, 23, 0, tzinfo=UTC)
    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]


def undelivered(provider_message_id: str) -> DeliveryRecord:
    failed = SeenStatus(DeliveryStatus.FAILED, at=T0, error_code="131026")
    return DeliveryRecord(
        channel=WHATSAPP,
        provider_message_id=provider_message_id,
        seen={DeliveryStatus.FAILED: failed},
        idempotency_key="n-1:WHATSAPP",
        notification_id="n-1",
    )


async def test_a_whatsapp_reported_undelivered_after_acceptance_goes_by_sms_once(
    world: World,
) -> None:
    await world.repository.add(whatsapp_then_sms())
    delivery = world.delivery()
    await world.sweep(delivery)
    assert world.provider.accepted == [(WHATSAPP, "n-1:WHATSAPP")]
    assert world.stored().status is NotificationStatus.SENT

    for _ in range(2):
        await delivery.delivery_failed(undelivered("whatsapp-1"))
        await delivery.drain()

    assert world.provider.accepted == [(WHATSAPP, "n-1:WHATSAPP"), (SMS, "n-1:SMS")]
    stored = world.stored()
    assert (stored.status, stored.channel) == (NotificationStatus.SENT, SMS)
    [tried] = stored.tried
    assert tried.reason == "whatsapp reported the message undelivered (131026)"


async def test_a_failure_report_of_another_provider_message_changes_nothing(
    world: World,
) -> None:
    await world.repository.add(whatsapp_then_sms())
    delivery = world.delivery()
    await world.sweep(delivery)

    await delivery.delivery_failed(undelivered("wamid.someone-else"))
    await delivery.drain()

    assert (world.stored().status, world.stored().channel) == (NotificationStatus.SENT, WHATSAPP)
    assert len(world.provider.accepted) == 1


class SavesCounted(FakeNotificationRepository):
    """Records the status of each write after the insert."""

    def __init__(self) -> None:
        super().__init__()
        self.saves: list[tuple[NotificationStatus, datetime]] = []

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> bool:
        self.saves.append((notification.status, notification.next_attempt_at))
        return await super().save(notification, outbox)


async def store_new(world: World, delivery: Delivery, new: Notification) -> None:
    """As the message use cases do: claim, insert, hand over."""
    delivery.claim_first_attempt(new)
    assert await world.repository.add(new)
    delivery.hold(new)


@pytest.fixture
def counted(world: World) -> SavesCounted:
    world.repository = SavesCounted()
    world.repository.outgoing.register(world.outbox_ready)
    return world.repository


async def test_a_new_sms_is_claimed_by_its_insert_and_sent_with_one_write(
    world: World, counted: SavesCounted
) -> None:
    delivery = world.delivery()
    await store_new(world, delivery, sms())
    assert (world.stored().status, world.stored().next_attempt_at) == (
        NotificationStatus.SENDING,
        T0 + LEASE,
    )

    assert await delivery.deliver(["n-1"]) == 1
    await delivery.drain()

    assert world.provider.calls == [(SMS, "n-1:SMS")]
    assert [status for status, _ in counted.saves] == [NotificationStatus.SENT]
    assert world.events() == [NotificationSent.event_type]


async def test_a_new_whatsapp_message_is_written_in_flight_before_its_call(
    world: World, counted: SavesCounted
) -> None:
    delivery = world.delivery()
    await store_new(world, delivery, notification("n-1"))
    assert world.stored().status is NotificationStatus.PENDING

    assert await delivery.deliver(["n-1"]) == 1
    await delivery.drain()

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]
    assert [status for status, _ in counted.saves] == [
        NotificationStatus.SENDING,
        NotificationStatus.SENT,
    ]


async def test_a_message_not_due_yet_is_not_claimed(world: World) -> None:
    later = sms(next_attempt_at=T0 + timedelta(hours=9))
    world.delivery().claim_first_attempt(later)

    assert (later.status, later.next_attempt_at) == (
        NotificationStatus.PENDING,
        T0 + timedelta(hours=9),
    )


async def test_a_claim_lost_with_its_instance_is_sent_under_its_key_once_its_lease_ends(
    world: World,
) -> None:
    await store_new(world, world.delivery(), sms())

    assert await world.sweep() == 0
    world.clock.advance(LEASE)
    assert await world.sweep() == 1

    assert world.provider.calls == [(SMS, "n-1:SMS")]
    assert world.stored().status is NotificationStatus.SENT


async def test_a_claim_held_up_in_its_lane_is_renewed_before_its_call(
    world: World, counted: SavesCounted
) -> None:
    async def throttled(_: float) -> None:
        world.clock.advance(LEASE * 0.6)

    delivery = world.delivery(sleep=throttled)
    await store_new(world, delivery, sms())

    assert await delivery.deliver(["n-1"]) == 1
    await delivery.drain()

    renewed_at = T0 + LEASE * 0.6
    assert counted.saves[0] == (NotificationStatus.SENDING, renewed_at + LEASE)
    assert [status for status, _ in counted.saves] == [
        NotificationStatus.SENDING,
        NotificationStatus.SENT,
    ]
    assert world.provider.calls == [(SMS, "n-1:SMS")]


class AnswersLost(FakeNotificationRepository):
    """The engine of a pause: the next writes' answers are lost, some after they landed (a
    cancelled operation the engine still ran), others before; reads fail `reads_lost` times."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []
        """"landed" or "dropped", in the order the next writes go."""
        self.reads_lost = 0

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> bool:
        outcome = self.writes.pop(0) if self.writes else "answered"
        if outcome == "dropped":
            raise AutoReconnect("connection pool paused")
        saved = await super().save(notification, outbox)
        if outcome == "landed":
            notification.version -= 1
            raise AutoReconnect("operation cancelled")
        return saved

    async def get(self, notification_id: str) -> Notification | None:
        if self.reads_lost:
            self.reads_lost -= 1
            raise ServerSelectionTimeoutError("timed out")
        return await super().get(notification_id)


@pytest.fixture
def pausing(world: World) -> AnswersLost:
    world.repository = AnswersLost()
    world.repository.outgoing.register(world.outbox_ready)
    return world.repository


async def no_wait(_: float) -> None:
    return None


@pytest.mark.parametrize("claim", ["landed", "dropped"])
async def test_a_whatsapp_claim_whose_answer_was_lost_is_sent_once_when_the_engine_is_back(
    world: World, pausing: AnswersLost, claim: str
) -> None:
    await world.repository.add(notification("n-1"))
    pausing.writes = [claim]
    pausing.reads_lost = 3

    assert await world.sweep(world.delivery(sleep=no_wait)) == 1

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]
    stored = world.stored()
    assert (stored.status, stored.provider_message_id) == (NotificationStatus.SENT, "whatsapp-1")
    assert world.events() == [NotificationSent.event_type]


async def test_an_outcome_whose_answer_was_lost_after_it_landed_is_recorded_once(
    world: World, pausing: AnswersLost
) -> None:
    await world.repository.add(notification("n-1"))
    pausing.writes = ["answered", "landed"]

    assert await world.sweep(world.delivery(sleep=no_wait)) == 1

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]
    assert world.stored().status is NotificationStatus.SENT
    assert world.events() == [NotificationSent.event_type]
    assert world.outbox_ready.calls == 0, "its event waits in the outbox for the relay's sweep"
    assert await world.sweep() == 0


async def test_a_lost_claim_is_not_made_again_over_another_instances_claim(
    world: World, pausing: AnswersLost
) -> None:
    await world.repository.add(notification("n-1"))
    pausing.writes = ["dropped"]
    rival = world.delivery()

    async def rival_claims_meanwhile(_: float) -> None:
        if world.stored().status is NotificationStatus.PENDING:
            await rival.deliver(["n-1"])
            await rival.drain()

    assert await world.sweep(world.delivery(sleep=rival_claims_meanwhile)) == 1

    assert world.provider.calls == [(WHATSAPP, "n-1:WHATSAPP")]
    assert world.stored().status is NotificationStatus.SENT


async def test_a_write_lost_for_longer_than_a_lease_is_left_to_the_sweep(
    world: World, pausing: AnswersLost
) -> None:
    await world.repository.add(notification("n-1"))
    pausing.writes = ["dropped"]
    pausing.reads_lost = 1_000

    async def time_passes(seconds: float) -> None:
        world.clock.advance(timedelta(seconds=seconds))

    ticks = iter(range(0, 10_000, 5))
    delivery = world.delivery(sleep=time_passes, monotonic=lambda: float(next(ticks)))

    assert await world.sweep(delivery) == 1

    assert world.provider.calls == []
    assert world.stored().status is NotificationStatus.PENDING
    assert pausing.reads_lost > 900, "it gave up within a lease, not after every read"
