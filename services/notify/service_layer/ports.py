"""The edges notify's use cases talk to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Protocol

from services.notify.domain.delivery_status import DeliveryRecord
from services.notify.domain.notification import Notification
from services.notify.domain.recipients import OperatorNotice, ParkedStep, Recipients
from shared.events.envelope import CloudEvent
from shared.events.models.values import DeliveryChannel
from shared.outbox import Outbox


class ProviderError(Exception):
    """A provider refused or failed a message; `retryable` says whether trying again may help,
    and `retry_after` how long the provider asked to wait (its `Retry-After`), when it did.

    `maybe_accepted` says the request reached the provider but its answer did not come back (a
    read timeout, a dropped connection): on a channel whose provider does not dedupe by
    idempotency key, notify then waits for a delivery status rather than send it again.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: timedelta | None = None,
        maybe_accepted: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after
        self.maybe_accepted = maybe_accepted


class MessageProvider(Protocol):
    async def send(self, notification: Notification) -> str:
        """Hands the message to the provider under `notification.idempotency_key`; returns the
        provider's message id."""
        ...


class NotificationRepository(Protocol):
    outgoing: Outbox

    async def add(self, notification: Notification) -> bool:
        """Stores a new pending notification; False if it exists, so redelivery adds nothing."""
        ...

    async def get(self, notification_id: str) -> Notification | None:
        """Loads a notification by its id."""
        ...

    async def about(self, about: str) -> list[Notification]:
        """Every notification about a request (or sign-in, visit, complaint), oldest first: its
        message history."""
        ...

    async def cancel(self, notification_id: str) -> bool:
        """Calls off a pending notification (status CANCELLED, version raised); False if there
        is none, or it is no longer pending."""
        ...

    async def due(
        self, now: datetime, limit: int, skip: Collection[str] = ()
    ) -> list[Notification]:
        """Unsettled notifications (pending, in flight, uncertain) whose `next_attempt_at` has
        come, oldest first, but those in `skip` (already being worked on)."""
        ...

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> bool:
        """Records the notification and its events in one write, if it is still at the version
        it was read at, and raises that version; False if another writer changed it first (or
        it does not exist): of racing writers exactly one wins."""
        ...


class UncertainDeliveries(Protocol):
    """What a delivery status from a provider's webhook settles."""

    async def resolve_uncertain(self, *, idempotency_key: str, provider_message_id: str) -> bool:
        """Records as sent the attempt in flight or in doubt under `idempotency_key` (WhatsApp
        echoes it as `biz_opaque_callback_data`); False if none was waiting for it."""
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


class DeliveryStatusStore(Protocol):
    outgoing: Outbox

    """The statuses providers reported, one record per message the provider accepted
    (`DeliveryRecord.record_id`), found by it or by the idempotency key it was sent under."""

    async def get(
        self, channel: DeliveryChannel, provider_message_id: str
    ) -> DeliveryRecord | None:
        """The record of one provider message; None before its first report."""
        ...

    async def save(self, record: DeliveryRecord, outbox: list[CloudEvent]) -> bool:
        """Stores the record with its events in one write, if it is still at the version it was
        read at (or, new, still absent); False if another report changed it first."""
        ...

    async def status_for_key(self, idempotency_key: str) -> DeliveryRecord | None:
        """What the provider reported of the message sent under `idempotency_key`, even if
        notify never stored the provider's id (it crashed first); None if nothing was reported.
        When a key reached the provider more than once, the message that got furthest."""
        ...


class HistoryReads(Protocol):
    outgoing: Outbox

    """Staff reads of a request's message history, each an event for audit."""

    async def record_read(self, about: str, outbox: list[CloudEvent]) -> None:
        """Queues the events of a staff read of its history, before the history is handed out."""
        ...


class PermanentFailures(Protocol):
    """Where a message that will not arrive on its channel goes next: delivery falls back to
    another channel of its route."""

    async def delivery_failed(self, record: DeliveryRecord) -> None:
        """Called for a provider's failure report of a message that never reached the phone,
        once the report is stored, with `record.notification_id` known. A repeated report calls
        it again (the first call may have been lost in a crash), so it must be idempotent."""
        ...
