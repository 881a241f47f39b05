"""Notify's delivery: hands messages that are due to their channel's provider and records each
attempt before and after the call, so that no message goes out twice on one channel.

Each attempt runs in its own task, in the lane of its channel (a token bucket and a number of
concurrent calls per channel): a slow or throttled WhatsApp holds up neither SMS nor e-mail, and
the loop that starts attempts, like the Kafka consumer that queues them, never waits on a
provider.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from services.notify.domain.delivery_status import DeliveryRecord
from services.notify.domain.notification import (
    UNSETTLED,
    Draw,
    Notification,
    NotificationStatus,
)
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import ChannelLimit, TokenBucket
from services.notify.service_layer.ports import (
    MessageProvider,
    NotificationRepository,
    ProviderError,
)
from shared.clock import Clock
from shared.events.models.values import DeliveryChannel
from shared.polling import PollingLoop
from shared.redaction import describe_error
from shared.transient import is_transient

log = logging.getLogger(__name__)

SOURCE = "/adminduk/notify"
RESOLVE_ATTEMPTS = 5
FIRST_READ_BACK_S = 0.5
LAST_READ_BACK_S = 5.0

DeliveryReady = Callable[[Notification], None]
"""Hands a stored, pending notification to the delivery loop, which then need not read it back."""
FirstClaim = Callable[[Notification], None]
"""Marks a new notification's first attempt in flight, if it may be, before it is first stored."""


DEFAULT_LIMIT = ChannelLimit(rate_per_s=10.0, burst=10.0, concurrency=8)


@dataclass
class _Lane:
    slots: asyncio.Semaphore
    bucket: TokenBucket


@dataclass
class Delivery:
    """Tries messages, falls back along their route, and dead-letters what no channel took.

    Before each call the attempt is stored as in flight (`SENDING`, leased until
    `now + lease`) with a write conditional on the version read, so of two instances, or a sweep
    racing a wake-up, exactly one calls the provider. An attempt whose lease ended unanswered is
    made again under the same idempotency key on `resend_safe` channels (their provider sends
    one message per key); on the others it is held as uncertain for `uncertain_window`, settled
    by `resolve_uncertain` when a delivery status arrives, else given up for the next channel
    (`Notification.give_up_uncertain` says why).

    On a `resend_safe` channel a new message's first attempt is claimed by its insert
    (`claim_first_attempt`), saving the write before the call: a resend there is harmless, so a
    claim lost with its instance is simply made again when its lease ends.
    """

    repository: NotificationRepository
    provider: MessageProvider
    max_attempts: int
    """Per channel."""
    clock: Clock
    quiet_hours: QuietHours | None = None
    limits: Mapping[DeliveryChannel, ChannelLimit] = field(default_factory=dict)
    resend_safe: Collection[DeliveryChannel] = frozenset({DeliveryChannel.SMS})
    lease: timedelta = timedelta(seconds=60)
    """Longer than a provider call can take (its timeout), or a slow answer is left unused."""
    uncertain_window: timedelta = timedelta(minutes=15)
    draw: Draw = random.random
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _held: dict[str, Notification] = field(default_factory=dict, init=False)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict, init=False)
    _lanes: dict[DeliveryChannel, _Lane] = field(default_factory=dict, init=False)
    _failure: BaseException | None = field(default=None, init=False)

    def claim_first_attempt(self, notification: Notification) -> None:
        """Marks a new message in flight before it is first stored, if it is due at once on a
        channel where a resend is harmless; `hold` then starts it without writing first."""
        now = self.clock()
        if (
            notification.status is NotificationStatus.PENDING
            and notification.channel in self.resend_safe
            and notification.next_attempt_at <= now
        ):
            notification.start_attempt(now=now, lease=self.lease)

    def hold(self, notification: Notification) -> None:
        """Keeps a just-stored notification for its first attempt, saving a read; a stale copy
        is harmless, as its write would be refused."""
        self._held[notification.notification_id] = notification

    async def deliver(self, notification_ids: list[str]) -> int:
        """Starts on the named messages that have something due; returns how many."""
        self._raise_failure()
        wanted = [key for key in notification_ids if key not in self._running]
        held = {key: self._held.pop(key) for key in wanted if key in self._held}
        stored = await asyncio.gather(
            *(self.repository.get(key) for key in wanted if key not in held)
        )
        now = self.clock()
        # A held message in flight is one this instance claimed when it stored it.
        due = [
            notification
            for notification in held.values()
            if notification.status is NotificationStatus.SENDING or _due(notification, now)
        ]
        due += [item for item in stored if item is not None and _due(item, now)]
        return self._start_all(due)

    async def deliver_due(self, batch_size: int = 50) -> int:
        """Starts on every message with something due, oldest first, a batch at a time (the
        night's held messages all come due when quiet hours end); returns how many."""
        self._raise_failure()
        started = 0
        while True:
            batch = await self.repository.due(self.clock(), batch_size, skip=set(self._running))
            started += self._start_all(batch)
            if len(batch) < batch_size:
                return started

    async def drain(self) -> None:
        """Waits for every attempt started to be recorded."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        self._raise_failure()

    async def resolve_uncertain(self, *, idempotency_key: str, provider_message_id: str) -> bool:
        """Records as sent the attempt in flight or in doubt under `idempotency_key`, from a
        provider's delivery status; False if none was waiting for it (already settled, or the
        message has moved on to another channel, whose key differs)."""
        notification_id = idempotency_key.rpartition(":")[0]
        for _ in range(RESOLVE_ATTEMPTS):
            notification = await self.repository.get(notification_id)
            if notification is None or notification.idempotency_key != idempotency_key:
                return False
            if not notification.resolve_uncertain(
                provider_message_id=provider_message_id, now=self.clock()
            ):
                return False
            if await self._record(notification):
                return True
        return False

    async def delivery_failed(self, record: DeliveryRecord) -> None:
        """A provider reported that a message it took never reached the person: its channel
        is given up and the next one of the route tried (or the message dead-lettered). A
        repeated report finds the message moved on and changes nothing."""
        failure = record.failure
        code = "" if failure is None or failure.error_code is None else f" ({failure.error_code})"
        reason = f"{record.channel.value.lower()} reported the message undelivered{code}"
        for _ in range(RESOLVE_ATTEMPTS):
            notification = await self.repository.get(record.notification_id or "")
            if notification is None or not notification.failed_after_acceptance(
                channel=record.channel,
                provider_message_id=record.provider_message_id,
                reason=reason,
                now=self.clock(),
            ):
                return
            if await self._record(notification):
                self._start_all([notification])
                return

    def _start_all(self, notifications: list[Notification]) -> int:
        started = 0
        for notification in notifications:
            key = notification.notification_id
            self._held.pop(key, None)
            if key in self._running:
                continue
            task = asyncio.create_task(self._work(notification), name=f"deliver {key}")
            self._running[key] = task
            task.add_done_callback(partial(self._forget, key))
            started += 1
        return started

    def _forget(self, key: str, _: asyncio.Task[None]) -> None:
        self._running.pop(key, None)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    async def _work(self, notification: Notification) -> None:
        try:
            await self._advance(notification)
        except Exception as exc:
            if not is_transient(exc):
                self._failure = exc
            # The store still says what is left to do; the next sweep takes it up again.
            log.warning(
                "delivery of %s stopped: %s", notification.notification_id, describe_error(exc)
            )

    async def _advance(self, notification: Notification) -> None:
        """Settles an attempt left in flight or in doubt, then tries the current channel, and
        the next ones at once while the route falls back."""
        now = self.clock()
        if notification.status is NotificationStatus.SENDING and notification.next_attempt_at > now:
            if not await self._attempt(notification):
                return
        elif notification.status is NotificationStatus.SENDING:
            notification.resume_in_flight(
                resend_safe=notification.channel in self.resend_safe,
                now=now,
                window=self.uncertain_window,
            )
            if not await self._record(notification):
                return
        elif notification.status is NotificationStatus.UNCERTAIN:
            notification.give_up_uncertain(now=now)
            if not await self._record(notification):
                return
        while (
            notification.status is NotificationStatus.PENDING
            and notification.next_attempt_at <= self.clock()
        ):
            if notification.hold_for_quiet_hours(self.quiet_hours, self.clock()):
                await self._record(notification)
                return
            if not await self._attempt(notification):
                return

    async def _attempt(self, notification: Notification) -> bool:
        """One call to the provider, recorded before and after; False if another writer had
        the message first."""
        lane = self._lane(notification.channel)
        async with lane.slots:
            await self.sleep(lane.bucket.reserve(self.monotonic()))
            if not self._claim_holds(notification):
                notification.start_attempt(now=self.clock(), lease=self.lease)
                if not await self._record(notification):
                    return False
            try:
                message_id = await self.provider.send(notification)
            except ProviderError as exc:
                self._failed(notification, exc)
            else:
                notification.mark_sent(provider_message_id=message_id, now=self.clock())
        if await self._record(notification):
            return True
        log.warning("attempt on %s was settled elsewhere first", notification.notification_id)
        return False

    def _claim_holds(self, notification: Notification) -> bool:
        """Whether the attempt was claimed when the message was stored, long enough ago that
        its lease outlasts the call; a claim that waited in its lane is renewed instead."""
        return (
            notification.status is NotificationStatus.SENDING
            and notification.next_attempt_at - self.clock() >= self.lease / 2
        )

    def _failed(self, notification: Notification, error: ProviderError) -> None:
        if error.maybe_accepted and notification.channel not in self.resend_safe:
            notification.mark_uncertain(
                reason=str(error), now=self.clock(), window=self.uncertain_window
            )
            return
        notification.mark_attempt_failed(
            reason=str(error),
            retryable=error.retryable,
            max_attempts=self.max_attempts,
            now=self.clock(),
            retry_after=error.retry_after,
            draw=self.draw,
        )

    async def _record(self, notification: Notification) -> bool:
        """Stores the notification and its new events if nothing changed it since it was read.

        A write whose answer was lost (the engine paused, the driver gave the operation up) may
        still land. Left to the sweep, an attempt claimed but never made would end its lease
        looking sent, and on a channel that does not dedupe be given up though it never went
        out. So once the engine answers again, the notification is read back: a write that
        landed is taken as done, one that did not is made again (and read back again if it is
        refused, as the lost one may have landed in between), for as long as a lease."""
        deadline = self.monotonic() + self.lease.total_seconds()
        made_again = False
        while True:
            try:
                saved = await self._commit(notification)
            except Exception as exc:
                if not is_transient(exc) or self.monotonic() > deadline:
                    raise
            else:
                if saved or not made_again or self.monotonic() > deadline:
                    return saved
            landed = await self._landed(notification, deadline)
            if landed is not None:
                return landed
            made_again = True

    async def _commit(self, notification: Notification) -> bool:
        if not await self.repository.outgoing.commit(
            notification.notification_id,
            notification.events,
            partial(self.repository.save, notification),
            source=SOURCE,
            time=self.clock(),
        ):
            return False
        notification.events.clear()
        return True

    async def _landed(self, notification: Notification, deadline: float) -> bool | None:
        """Whether a write whose answer was lost is stored (its events then wait in the
        outbox for the relay's sweep), False if another writer's is, None if none is."""
        wait = FIRST_READ_BACK_S
        while True:
            await self.sleep(wait)
            try:
                stored = await self.repository.get(notification.notification_id)
                break
            except Exception as exc:
                if not is_transient(exc) or self.monotonic() > deadline:
                    raise
                wait = min(wait * 2, LAST_READ_BACK_S)
        if stored is None:
            return False
        if stored.version == notification.version:
            return None
        if stored.version == notification.version + 1 and _stored_as(stored, notification):
            notification.version = stored.version
            notification.events.clear()
            return True
        return False

    def _lane(self, channel: DeliveryChannel) -> _Lane:
        if channel not in self._lanes:
            limit = self.limits.get(channel, DEFAULT_LIMIT)
            self._lanes[channel] = _Lane(
                slots=asyncio.Semaphore(limit.concurrency),
                bucket=TokenBucket(rate_per_s=limit.rate_per_s, burst=limit.burst),
            )
        return self._lanes[channel]


def _stored_as(stored: Notification, written: Notification) -> bool:
    """Whether the stored notification is the one written, to the millisecond the engine keeps
    of a time."""
    return (
        stored.status is written.status
        and stored.channel is written.channel
        and stored.attempts == written.attempts
        and stored.provider_message_id == written.provider_message_id
        and stored.tried == written.tried
        and abs(stored.next_attempt_at - written.next_attempt_at) < timedelta(milliseconds=1)
    )


def _due(notification: Notification, now: datetime) -> bool:
    return notification.status in UNSETTLED and notification.next_attempt_at <= now


class DeliveryLoop(PollingLoop):
    """Starts attempts as messages are queued and sweeps for retries, expired leases and held
    messages; on stop, lets the attempts under way be recorded."""

    def __init__(self, delivery: Delivery, *, sweep_interval_s: float) -> None:
        super().__init__(
            name="delivery",
            handle=delivery.deliver,
            sweep=delivery.deliver_due,
            sweep_interval_s=sweep_interval_s,
        )
        self._delivery = delivery

    async def stop(self) -> None:
        await super().stop()
        await self._delivery.drain()
