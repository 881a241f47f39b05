"""Notify's delivery: hands messages that are due to the provider and records the outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.notify.domain.notification import Notification, NotificationStatus
from services.notify.domain.quiet_hours import QuietHours
from services.notify.service_layer.ports import (
    MessageProvider,
    NotificationRepository,
    ProviderError,
)
from shared.events.envelope import CloudEvent
from shared.polling import OutboxReady

SOURCE = "/adminduk/notify"

DeliveryReady = Callable[[Notification], None]
"""Hands a stored, pending notification to the delivery loop, which then need not read it back."""


@dataclass(frozen=True)
class Delivery:
    """Hands messages to the provider and records each attempt's outcome with its events.

    A message that can wait and comes due in quiet hours (a retry, or one a slow sweep found
    late) is put off until they end, untried.
    """

    repository: NotificationRepository
    provider: MessageProvider
    outbox_ready: OutboxReady
    max_attempts: int
    now: Callable[[], datetime]
    concurrency: int = 8
    quiet_hours: QuietHours | None = None
    _held: dict[str, Notification] = field(default_factory=dict)

    def hold(self, notification: Notification) -> None:
        """Keeps a just-stored notification for its first attempt, saving a read.

        Whichever path attempts a message first drops its held copy, so a copy made stale by a
        sweep's attempt is never sent again.
        """
        self._held[notification.notification_id] = notification

    async def deliver(self, notification_ids: list[str]) -> int:
        """Tries the named messages that are still pending and due; returns how many were tried."""
        loaded = await asyncio.gather(*map(self._load, notification_ids))
        due = [
            notification
            for notification in loaded
            if notification is not None
            and notification.status is NotificationStatus.PENDING
            and notification.next_attempt_at <= self.now()
        ]
        return await self._attempt_all(due)

    async def _load(self, notification_id: str) -> Notification | None:
        held = self._held.pop(notification_id, None)
        return held if held is not None else await self.repository.get(notification_id)

    async def deliver_due(self, batch_size: int = 50) -> int:
        """Tries every message whose next attempt is due, oldest first, a batch at a time (the
        night's held messages all come due when quiet hours end); returns how many."""
        tried = 0
        while True:
            batch = await self.repository.due(self.now(), batch_size)
            tried += await self._attempt_all(batch)
            if len(batch) < batch_size:
                return tried

    async def _attempt_all(self, notifications: list[Notification]) -> int:
        """Tries up to `concurrency` messages at once: one slow provider call holds up no other."""
        for notification in notifications:
            self._held.pop(notification.notification_id, None)
        slots = asyncio.Semaphore(self.concurrency)

        async def attempt(notification: Notification) -> None:
            async with slots:
                await self._attempt(notification)

        await asyncio.gather(*(attempt(notification) for notification in notifications))
        return len(notifications)

    async def _attempt(self, notification: Notification) -> None:
        if notification.hold_for_quiet_hours(self.quiet_hours, self.now()):
            await self.repository.save(notification, [])
            return
        try:
            message_id = await self.provider.send(notification)
        except ProviderError as exc:
            notification.mark_attempt_failed(
                reason=str(exc),
                retryable=exc.retryable,
                max_attempts=self.max_attempts,
                now=self.now(),
            )
        else:
            notification.mark_sent(provider_message_id=message_id, now=self.now())
        moment = self.now()
        outbox = [CloudEvent.wrap(item, source=SOURCE, time=moment) for item in notification.events]
        await self.repository.save(notification, outbox)
        if outbox:
            self.outbox_ready(notification.notification_id, outbox)
