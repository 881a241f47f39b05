"""The edges notify's use cases talk to."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from services.notify.domain.notification import Notification
from services.notify.domain.recipients import OperatorNotice, ParkedStep, Recipients
from shared.events.envelope import CloudEvent


class ProviderError(Exception):
    """A provider refused or failed a message; `retryable` says whether trying again may help,
    and `retry_after` how long the provider asked to wait (its `Retry-After`), when it did."""

    def __init__(
        self, reason: str, *, retryable: bool, retry_after: timedelta | None = None
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class MessageProvider(Protocol):
    async def send(self, notification: Notification) -> str:
        """Hands the message to the provider under `notification.idempotency_key`; returns the
        provider's message id."""
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


class RecipientDirectory(Protocol):
    """Who hears about each request, by request id."""

    async def learn(self, recipients: Recipients) -> list[ParkedStep]:
        """Records who hears about a request; returns the steps parked while it was unknown."""
        ...

    async def get(self, request_id: str) -> Recipients | None:
        """Who hears about the request; None until its RequestSubmitted is handled."""
        ...

    async def park(self, request_id: str, parked: ParkedStep) -> bool:
        """Keeps a step of a request not yet learnt; False if it was learnt meanwhile."""
        ...

    async def forget_parked(self, request_id: str) -> None:
        """Drops the parked steps once their messages are queued."""
        ...

    async def owe_operator(self, request_id: str, notice: OperatorNotice) -> None:
        """Records a message owed to who submitted for a citizen without a phone; once each."""
        ...
