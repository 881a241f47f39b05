"""Version 1 of the events on `adminduk.notifications.v1`: what notify sent, what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import Event, RequestEvent
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.events.topics import NOTIFICATIONS, Topic


class _OnNotifications(Event):
    """An event on `adminduk.notifications.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = NOTIFICATIONS


class NotificationSent(_OnNotifications):
    """A message reached the provider for delivery to a citizen."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.sent.v1"

    notification_id: str = Field(description="Notify's id of the message.")
    about: str = Field(description="The request or sign-in the message is about; the event's key.")
    channel: DeliveryChannel = Field(description="Channel the message went out on.")
    template: str = Field(description="Name of the message template used.")
    provider_message_id: str = Field(description="The provider's id for the message.")
    sent_at: datetime = Field(description="When the provider accepted the message (UTC).")

    @property
    def subject(self) -> str:
        return self.about


class ChannelTried(BaseModel):
    """One channel a message was tried on before notify moved on from it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: DeliveryChannel = Field(description="The channel tried.")
    attempts: int = Field(description="How many deliveries were tried on it.")
    reason: str = Field(description="Its last error, without personal data.")


class NotificationFailed(_OnNotifications):
    """Notify gave up on a message after its retries on every channel of its route."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.failed.v1"

    notification_id: str = Field(description="Notify's id of the message.")
    about: str = Field(description="The request or sign-in the message is about; the event's key.")
    channel: DeliveryChannel = Field(description="Channel that was tried.")
    attempts: int = Field(description="How many deliveries were tried.")
    reason: str = Field(description="The last error, without personal data.")
    failed_at: datetime = Field(description="When notify gave up (UTC).")
    tried: list[ChannelTried] = Field(
        default_factory=list,
        description="Every channel of the route in the order tried, the last one included.",
    )

    @property
    def subject(self) -> str:
        return self.about


class NotificationHistoryViewed(_OnNotifications, RequestEvent):
    """An officer read the messages sent about a request (templates, channels, masked numbers):
    like every staff read of a record, auditors see who looked."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.history_viewed.v1"

    messages: int = Field(description="How many messages the history held.")
    viewed_at: datetime = Field(description="When it was read (UTC).")


class NotificationStatusChanged(_OnNotifications):
    """A provider reported a delivery status notify had not seen for the message: sent,
    delivered, read, or failed for good."""

    event_type: ClassVar[str] = "id.go.adminduk.notification.status_changed.v1"

    notification_id: str | None = Field(
        description="Notify's id of the message; none when the report named no message notify "
        "knows."
    )
    about: str | None = Field(
        description="The request or sign-in the message is about, when known; the event's key."
    )
    channel: DeliveryChannel = Field(description="Channel the message went out on.")
    provider_message_id: str = Field(description="The provider's id for the message.")
    status: DeliveryStatus = Field(description="The status reported.")
    current_status: DeliveryStatus = Field(
        description="The message's status after this report: a late `DELIVERED` after `READ` "
        "leaves it `READ`."
    )
    at: datetime = Field(description="When the provider says it happened (UTC).")
    error_code: str | None = Field(
        description="The provider's error code of a failure, e.g. WhatsApp's `131026`."
    )

    @property
    def subject(self) -> str:
        return self.about or f"{self.channel.value}:{self.provider_message_id}"
