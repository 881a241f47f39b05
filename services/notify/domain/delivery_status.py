"""What providers report of the messages they accepted: the statuses seen for each, once each.

Providers report out of order and more than once. A message's status is the furthest it is
known to have got (read, then delivered, then failed, then sent): a late `DELIVERED` after `READ`
changes nothing, and a `FAILED` after the message reached the phone does not undo that. Only a
failure with no sign of delivery is a permanent failure, after which delivery may try another
channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.notifications import NotificationStatusChanged
from shared.events.models.values import DeliveryChannel, DeliveryStatus

PROGRESS = {
    DeliveryStatus.SENT: 0,
    DeliveryStatus.FAILED: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}
"""How far each status shows a message got; the furthest seen is the message's status."""
REACHED_THE_PHONE = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.READ})
PROVIDERS = {
    DeliveryChannel.WHATSAPP: Actor(
        kind=ActorKind.PROVIDER, id="whatsapp", channel=Channel.WHATSAPP
    ),
    DeliveryChannel.SMS: Actor(kind=ActorKind.PROVIDER, id="sms", channel=Channel.SMS),
    DeliveryChannel.EMAIL: Actor(kind=ActorKind.PROVIDER, id="email", channel=Channel.SYSTEM),
}


@dataclass(frozen=True)
class StatusReport:
    """One status of one message, as a provider's webhook reported it."""

    channel: DeliveryChannel
    provider_message_id: str
    status: DeliveryStatus
    at: datetime
    idempotency_key: str | None = None
    """What notify sent the message under, when the provider echoes it (WhatsApp's
    `biz_opaque_callback_data`, the SMS gateway's `reference`)."""
    error_code: str | None = None
    error_reason: str | None = None
    """The provider's fixed title of the error (e.g. "Message undeliverable"), never its free
    text, which may quote the message or the number."""


@dataclass(frozen=True)
class SeenStatus:
    status: DeliveryStatus
    at: datetime
    error_code: str | None = None
    error_reason: str | None = None


def record_id(channel: DeliveryChannel, provider_message_id: str) -> str:
    """A message's record key: provider ids are unique per provider only."""
    return f"{channel.value}:{provider_message_id}"


def notification_id_of(idempotency_key: str) -> str:
    """The notification a key belongs to: keys are `{notification id}:{channel}`; a bare
    notification id (what a provider adapter may send as its reference) is taken as it is."""
    head, _, tail = idempotency_key.rpartition(":")
    return head if head and tail in DeliveryChannel.__members__ else idempotency_key


@dataclass
class DeliveryRecord:
    """The statuses a provider reported for one message it accepted."""

    channel: DeliveryChannel
    provider_message_id: str
    seen: dict[DeliveryStatus, SeenStatus] = field(default_factory=dict)
    idempotency_key: str | None = None
    notification_id: str | None = None
    about: str | None = None
    version: int | None = None
    """The stored version it was read at; None for a record not stored yet."""
    events: list[Event] = field(default_factory=list)

    @property
    def record_id(self) -> str:
        return record_id(self.channel, self.provider_message_id)

    @property
    def status(self) -> DeliveryStatus | None:
        """The furthest the message is known to have got; None before any report."""
        return max(self.seen, key=PROGRESS.__getitem__, default=None)

    @property
    def permanently_failed(self) -> bool:
        """Failed with no sign it reached the phone: the message will not arrive this way."""
        return DeliveryStatus.FAILED in self.seen and not REACHED_THE_PHONE & self.seen.keys()

    @property
    def failure(self) -> SeenStatus | None:
        return self.seen.get(DeliveryStatus.FAILED)

    def history(self) -> list[SeenStatus]:
        """The statuses seen, in the order they happened."""
        return sorted(self.seen.values(), key=lambda seen: (seen.at, PROGRESS[seen.status]))

    def learn_notification(self, *, notification_id: str, about: str | None) -> None:
        """Ties the record to the notification it reports on, once known."""
        self.notification_id = notification_id
        self.about = about

    def take(self, report: StatusReport) -> bool:
        """Records a status not seen before and says so in an event; False for a repeat."""
        if self.idempotency_key is None and report.idempotency_key is not None:
            self.idempotency_key = report.idempotency_key
        if report.status in self.seen:
            return False
        self.seen[report.status] = SeenStatus(
            status=report.status,
            at=report.at,
            error_code=report.error_code,
            error_reason=report.error_reason,
        )
        self.events.append(
            NotificationStatusChanged(
                actor=PROVIDERS[self.channel],
                notification_id=self.notification_id,
                about=self.about,
                channel=self.channel,
                provider_message_id=self.provider_message_id,
                status=report.status,
                current_status=max(self.seen, key=PROGRESS.__getitem__),
                at=report.at,
                error_code=report.error_code,
            )
        )
        return True


def mask_recipient(recipient: str) -> str:
    """Enough of a number or address for the citizen or an officer to recognise it:
    `+62812****890`, `s***@example.go.id`."""
    local, at, domain = recipient.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    if len(recipient) < 10:
        return "****" + recipient[-2:]
    return f"{recipient[:6]}****{recipient[-3:]}"
