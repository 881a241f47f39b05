"""The edges notify's use cases talk to."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.notify.domain.notification import Notification
from shared.events.envelope import CloudEvent


class ProviderError(Exception):
    """A provider refused or failed a message; `retryable` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class MessageProvider(Protocol):
    async def send(self, notification: Notification) -> str:
        """Hands the message to the provider; returns the provider's message id."""
        ...


class NotificationRepository(Protocol):
    async def add(self, notification: Notification) -> bool:
        """Stores a new pending notification; False if it exists, so redelivery adds nothing."""
        ...

    async def get(self, notification_id: str) -> Notification | None:
        """Loads a notification by its id."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first."""
        ...

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> None:
        """Records an attempt's outcome and its events in one write."""
        ...
