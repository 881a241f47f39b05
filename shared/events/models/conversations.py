"""Version 1 of the events on `adminduk.conversations.v1`: replies to citizens' messages and
providers' delivery reports, on their way from intake's webhooks to notify."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import (
    PERSONAL,
    DeliveryChannel,
    DeliveryStatus,
    NotificationChannel,
)
from shared.events.topics import CONVERSATIONS, Topic


class _OnConversations(Event):
    """An event on `adminduk.conversations.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = CONVERSATIONS


class ConversationReply(_OnConversations):
    """Intake's answer to a citizen's WhatsApp or SMS message; notify sends it as it is."""

    event_type: ClassVar[str] = "id.go.adminduk.conversation.reply.v1"

    reply_id: str = Field(description="Intake's id of the reply; the event's key.")
    phone: str = Field(description="Who to answer, in E.164 form.", json_schema_extra=PERSONAL)
    channel: NotificationChannel = Field(description="The channel the citizen wrote on.")
    text: str = Field(description="The reply, in plain Indonesian.", json_schema_extra=PERSONAL)
    in_reply_to: str = Field(description="The provider's id of the citizen's message.")

    @property
    def subject(self) -> str:
        return self.reply_id


class DeliveryReported(_OnConversations):
    """A provider reported, on intake's webhook, the delivery status of a message notify sent;
    intake passes it on once per message and status, and notify records it. Meta calls one
    callback URL for citizens' messages and for these statuses, and that URL is intake's."""

    event_type: ClassVar[str] = "id.go.adminduk.conversation.delivery_reported.v1"

    channel: DeliveryChannel = Field(description="The channel the message went out on.")
    provider_message_id: str = Field(
        description="The provider's id for the message (WhatsApp's wamid); the event's key."
    )
    status: DeliveryStatus = Field(description="The status reported.")
    at: datetime = Field(description="When the provider says it happened (UTC).")
    idempotency_key: str | None = Field(
        default=None,
        description="The key notify sent the message under, as the provider echoed it "
        "(WhatsApp's `biz_opaque_callback_data`).",
    )
    error_code: str | None = Field(
        default=None, description="The provider's error code of a failure, e.g. `131026`."
    )
    error_title: str | None = Field(
        default=None,
        description="The provider's fixed title of the error (e.g. `Message undeliverable`), "
        "never its free text, which may quote the message or the number.",
    )

    @property
    def subject(self) -> str:
        return self.provider_message_id
