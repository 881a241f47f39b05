"""Notify's use cases: queue a message for an event, deliver what is due."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.notify.domain.notification import case_opened_message
from services.notify.service_layer.ports import (
    MessageProvider,
    NotificationRepository,
    ProviderError,
)
from shared.events.envelope import CloudEvent
from shared.events.models import CaseOpened

SOURCE = "/adminduk/notify"


async def queue_case_opened_message(
    *,
    opened: CaseOpened,
    event_id: str,
    repository: NotificationRepository,
    delivery_ready: Callable[[], None],
    now: datetime,
) -> None:
    """Queues the citizen's 'request received' message; a redelivered event queues nothing."""
    notification = case_opened_message(event_id, opened, now=now)
    if await repository.add(notification):
        delivery_ready()


async def deliver_due(
    *,
    repository: NotificationRepository,
    provider: MessageProvider,
    outbox_ready: Callable[[], None],
    max_attempts: int,
    now: Callable[[], datetime],
    batch_size: int = 50,
) -> int:
    """Tries every due message once; returns how many were tried."""
    due = await repository.due(now(), batch_size)
    for notification in due:
        try:
            message_id = await provider.send(notification)
        except ProviderError as exc:
            notification.mark_attempt_failed(
                reason=str(exc), retryable=exc.retryable, max_attempts=max_attempts, now=now()
            )
        else:
            notification.mark_sent(provider_message_id=message_id, now=now())
        moment = now()
        outbox = [CloudEvent.wrap(item, source=SOURCE, time=moment) for item in notification.events]
        await repository.save(notification, outbox)
        if outbox:
            outbox_ready()
    return len(due)
