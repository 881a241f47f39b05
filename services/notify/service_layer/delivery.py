"""Notify's use cases: queue a message for an event, deliver messages that are due."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.notify.domain.notification import (
    Notification,
    NotificationStatus,
    case_opened_message,
    conversation_reply_message,
    sign_in_code_message,
)
from services.notify.service_layer.ports import (
    MessageProvider,
    NotificationRepository,
    ProviderError,
)
from shared.events.envelope import CloudEvent
from shared.events.models import CaseOpened, ConversationReply, SignInCodeRequested
from shared.polling import OutboxReady

SOURCE = "/adminduk/notify"

DeliveryReady = Callable[[Notification], None]
"""Hands a stored, pending notification to the delivery loop, which then need not read it back."""


async def queue_case_opened_message(
    *,
    opened: CaseOpened,
    event_id: str,
    repository: NotificationRepository,
    delivery_ready: DeliveryReady,
    now: datetime,
) -> None:
    """Queues the citizen's 'request received' message; a redelivered event queues nothing.

    A citizen without a phone gets none: the operator who submitted for them follows the request
    in their console."""
    if opened.contact_phone is None:
        return
    notification = case_opened_message(event_id, opened, recipient=opened.contact_phone, now=now)
    if await repository.add(notification):
        delivery_ready(notification)


async def queue_sign_in_code(
    *,
    requested: SignInCodeRequested,
    event_id: str,
    repository: NotificationRepository,
    delivery_ready: DeliveryReady,
    now: datetime,
) -> None:
    """Queues a citizen's one-time code, unless it expired on the way; once per event."""
    if requested.expires_at <= now:
        return
    notification = sign_in_code_message(event_id, requested, now=now)
    if await repository.add(notification):
        delivery_ready(notification)


async def queue_conversation_reply(
    *,
    reply: ConversationReply,
    event_id: str,
    repository: NotificationRepository,
    delivery_ready: DeliveryReady,
    now: datetime,
) -> None:
    """Queues intake's answer to a citizen's chat message; once per event."""
    notification = conversation_reply_message(event_id, reply, now=now)
    if await repository.add(notification):
        delivery_ready(notification)


@dataclass(frozen=True)
class Delivery:
    """Hands messages to the provider and records each attempt's outcome with its events."""

    repository: NotificationRepository
    provider: MessageProvider
    outbox_ready: OutboxReady
    max_attempts: int
    now: Callable[[], datetime]
    concurrency: int = 8
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
        """Tries every message whose next attempt is due, oldest first; returns how many."""
        return await self._attempt_all(await self.repository.due(self.now(), batch_size))

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
