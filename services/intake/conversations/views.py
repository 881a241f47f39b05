"""What the WhatsApp and SMS webhooks take and answer: the Cloud API's notifications, the SMS
gateway's messages and the receipts, apart from the routes.

The Cloud API's body is read as it sends it: fields this service does not use may come and go,
those it uses must be as documented.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.intake.conversations.domain import Text, Unsupported
from services.intake.conversations.ports import MEDIA_ID_PATTERN
from services.intake.conversations.service_layer import InboundMessage, MediaRef
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.conversations import DeliveryReported
from shared.events.models.values import DeliveryChannel, DeliveryStatus, NotificationChannel

WHATSAPP_PROVIDER = "whatsapp"
IGNORED_TYPES = frozenset({"reaction"})
"""Messages that ask nothing: no reply, not even that they were not understood."""
DELIVERY_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
"""The statuses notify records; others (e.g. a deprecated `deleted`) are acknowledged only."""
PROVIDER_ACTOR = Actor(kind=ActorKind.PROVIDER, id=WHATSAPP_PROVIDER, channel=Channel.WHATSAPP)


class _Tolerant(BaseModel):
    """Fields the provider adds are ignored; those read here must be as documented."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TextBody(_Tolerant):
    body: str = Field(max_length=4096)


class ChoiceReply(_Tolerant):
    id: str = Field(min_length=1, max_length=256)
    title: str = Field(max_length=1024)


class InteractiveReply(_Tolerant):
    type: str
    button_reply: ChoiceReply | None = None
    list_reply: ChoiceReply | None = None

    @property
    def choice(self) -> ChoiceReply | None:
        """The button or list row chosen; None for other interactive replies (e.g. flows)."""
        return {"button_reply": self.button_reply, "list_reply": self.list_reply}.get(self.type)


class QuickReply(_Tolerant):
    """A template's quick-reply button."""

    text: str = Field(max_length=1024)
    payload: str | None = Field(default=None, max_length=1024)


class MediaObject(_Tolerant):
    id: str = Field(pattern=MEDIA_ID_PATTERN)
    mime_type: str = Field(max_length=255)
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


_CONTENT_OF_TYPE = {
    "text": "text",
    "interactive": "interactive",
    "button": "button",
    "image": "image",
    "document": "document",
}


class Message(_Tolerant):
    sender: str = Field(alias="from", pattern=r"^[0-9]{6,15}$")
    id: str = Field(min_length=1, max_length=256)
    timestamp: str
    type: str = Field(min_length=1, max_length=64)
    text: TextBody | None = None
    interactive: InteractiveReply | None = None
    button: QuickReply | None = None
    image: MediaObject | None = None
    document: MediaObject | None = None

    @model_validator(mode="after")
    def _has_its_content(self) -> Self:
        """A message of a type read here carries the object its type names."""
        content = _CONTENT_OF_TYPE.get(self.type)
        if content is not None and getattr(self, content) is None:
            raise ValueError(f"a {self.type} message must carry '{content}'")
        return self

    def inbound(self) -> InboundMessage:
        return InboundMessage(
            provider=WHATSAPP_PROVIDER,
            message_id=self.id,
            phone=f"+{self.sender}",
            channel=NotificationChannel.WHATSAPP,
            content=self._content(),
        )

    def _content(self) -> Text | MediaRef | Unsupported:
        if self.text is not None and self.type == "text":
            return Text(self.text.body)
        if self.interactive is not None and self.type == "interactive":
            choice = self.interactive.choice
            return Unsupported(self.interactive.type) if choice is None else Text(choice.id)
        if self.button is not None and self.type == "button":
            return Text(self.button.payload or self.button.text)
        media = self.image if self.type == "image" else self.document
        if media is not None and self.type in ("image", "document"):
            return MediaRef(media.id)
        return Unsupported(self.type)


class StatusError(_Tolerant):
    """Why a message failed; its `message` and `error_data` may quote the message and are not
    read."""

    code: int
    title: str | None = Field(default=None, max_length=512)


class MessageStatus(_Tolerant):
    """One status of one of the office's messages; the recipient's number, the conversation and
    the pricing are not read."""

    id: str = Field(pattern=r"^[!-~]{1,256}$")
    status: str = Field(min_length=1, max_length=64)
    timestamp: str = Field(pattern=r"^[0-9]{1,12}$")
    biz_opaque_callback_data: str | None = Field(default=None, max_length=512)
    errors: list[StatusError] = []

    def reported(self) -> DeliveryReported | None:
        """None for a status notify does not record."""
        known = DELIVERY_STATUSES.get(self.status)
        if known is None:
            return None
        error = self.errors[0] if self.errors else None
        return DeliveryReported(
            actor=PROVIDER_ACTOR,
            channel=DeliveryChannel.WHATSAPP,
            provider_message_id=self.id,
            status=known,
            at=datetime.fromtimestamp(int(self.timestamp), UTC),
            idempotency_key=self.biz_opaque_callback_data or None,
            error_code=None if error is None else str(error.code),
            error_title=None if error is None else error.title,
        )


class Metadata(_Tolerant):
    display_phone_number: str
    phone_number_id: str


class Profile(_Tolerant):
    name: str | None = None


class Contact(_Tolerant):
    wa_id: str
    profile: Profile | None = None


class MessagesValue(_Tolerant):
    messaging_product: Literal["whatsapp"]
    metadata: Metadata
    contacts: list[Contact] = []
    messages: list[Message] = []
    statuses: list[MessageStatus] = []


class Change(_Tolerant):
    field: str
    value: dict[str, Any]

    @model_validator(mode="after")
    def _messages_as_documented(self) -> Self:
        if self.field == "messages":
            MessagesValue.model_validate(self.value)
        return self


class Entry(_Tolerant):
    id: str
    changes: list[Change]


class WebhookPayload(_Tolerant):
    object: Literal["whatsapp_business_account"]
    entry: list[Entry]

    def messages(self) -> list[Message]:
        """Citizens' messages, in the order delivered, without those that ask nothing."""
        return [
            message
            for entry in self.entry
            for change in entry.changes
            if change.field == "messages"
            for message in MessagesValue.model_validate(change.value).messages
            if message.type not in IGNORED_TYPES
        ]

    def reports(self) -> list[DeliveryReported]:
        """The statuses notify records, in the order delivered."""
        statuses = [
            item
            for entry in self.entry
            for change in entry.changes
            if change.field == "messages"
            for item in MessagesValue.model_validate(change.value).statuses
        ]
        return [reported for item in statuses if (reported := item.reported()) is not None]


def parse_messages(body: bytes) -> list[Message]:
    """The messages of a delivery; ValidationError if it is not the Cloud API's shape."""
    return WebhookPayload.model_validate_json(body).messages()


def parse_statuses(body: bytes) -> list[DeliveryReported]:
    """The delivery statuses of a delivery; ValidationError if it is not the Cloud API's shape."""
    return WebhookPayload.model_validate_json(body).reports()


class WebhookReceipt(BaseModel):
    messages: int = Field(description="How many citizens' messages the delivery held.")
    statuses: int = Field(
        description="How many delivery statuses notify records it held; each is passed on once."
    )


class InboundSms(BaseModel):
    """One text message as the gateway delivers it."""

    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")
    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(max_length=1600)


class SmsReceipt(BaseModel):
    accepted: bool = Field(description="Always true: the message was taken, or was before.")
