"""The WhatsApp Business Cloud API webhook: Meta's verification challenge, citizens' messages
and the delivery statuses of the office's messages.

Meta calls one callback URL per app for both, and it is this one. A delivery is believed only if
`X-Hub-Signature-256` is the HMAC-SHA256 of its raw body under the app secret, checked before the
body is read at all. Each message is one step of its sender's conversation
(`service_layer.conversations`); each status (`sent`, `delivered`, `read`, `failed`) is passed on
to notify once as a `DeliveryReported` event (`service_layer.delivery_reports`), without the
recipient's number. Other statuses, reactions and changes of other fields are acknowledged and
left alone. The body is read as the Cloud API sends it: fields this service does not use may come
and go, those it uses must be as documented. A signed body that is not JSON is refused with 400,
JSON not of the documented shape with 422, each with the reason.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.intake.domain.conversation import Text, Unsupported
from services.intake.service_layer.conversations import (
    ConversationContext,
    InboundMessage,
    MediaRef,
    take_message,
)
from services.intake.service_layer.delivery_reports import DeliveryReportContext, pass_on_report
from services.intake.service_layer.ports import MEDIA_ID_PATTERN
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.conversations import DeliveryReported
from shared.events.models.values import DeliveryChannel, DeliveryStatus, NotificationChannel
from shared.http.error_bodies import RETRY_AFTER_S, error_response, error_responses
from shared.redaction import describe_validation_error
from shared.signatures import valid_hub_signature

WEBHOOK_PATH = "/v1/channels/whatsapp/webhook"
PROVIDER = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
DEADLINE_S = 15.0
"""Past this the delivery is answered 503; the provider delivers it again and the steps already
taken are recognised."""
IGNORED_TYPES = frozenset({"reaction"})
"""Messages that ask nothing: no reply, not even that they were not understood."""
DELIVERY_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
"""The statuses notify records; others (e.g. a deprecated `deleted`) are acknowledged only."""
PROVIDER_ACTOR = Actor(kind=ActorKind.PROVIDER, id=PROVIDER, channel=Channel.WHATSAPP)


@dataclass(frozen=True)
class WhatsAppContext:
    """What the webhook needs, put together by bootstrap."""

    app_secret: bytes
    verify_token: str
    conversations: ConversationContext
    reports: DeliveryReportContext
    clock: Clock


WhatsAppDep = Annotated[WhatsAppContext, Depends(provided(WhatsAppContext))]


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
            provider=PROVIDER,
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


router = APIRouter(tags=["whatsapp"])

_SIGNED_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "`sha256=` and the hex HMAC-SHA256 of the raw body under the app "
            "secret (INTAKE_WHATSAPP_APP_SECRET).",
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "A WhatsApp Business Cloud API webhook notification: "
                    '`{"object": "whatsapp_business_account", "entry": [{"id", "changes": '
                    '[{"field": "messages", "value": {"messages": [...], "statuses": '
                    "[...]}}]}]}`.",
                }
            }
        },
    },
}


@router.get(
    WEBHOOK_PATH,
    response_model=None,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The challenge, as sent: the subscription is confirmed.",
        },
        403: error_response(
            status.HTTP_403_FORBIDDEN, "Not a subscription, or not with the verify token."
        ),
        **error_responses(422),
    },
)
async def verify_subscription(
    context: WhatsAppDep,
    mode: Annotated[str, Query(alias="hub.mode", max_length=64)],
    verify_token: Annotated[str, Query(alias="hub.verify_token", max_length=512)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)],
) -> PlainTextResponse:
    """Meta's check when the webhook is set up: the challenge is answered only to a
    subscription that names the configured verify token (INTAKE_WHATSAPP_VERIFY_TOKEN)."""
    known = hmac.compare_digest(verify_token.encode(), context.verify_token.encode())
    if mode != "subscribe" or not known:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "verification_refused",
            "Verifikasi webhook ditolak: mode atau verify token tidak sesuai.",
        )
    return PlainTextResponse(challenge)


@router.post(
    WEBHOOK_PATH,
    openapi_extra=_SIGNED_BODY,
    responses={
        400: error_response(status.HTTP_400_BAD_REQUEST, "Correctly signed, but not JSON."),
        401: error_response(
            status.HTTP_401_UNAUTHORIZED,
            "No X-Hub-Signature-256, or not the body's HMAC under the app secret; nothing is "
            "stored.",
        ),
        422: error_response(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "Correctly signed JSON, but not a Cloud API notification; the message says where.",
        ),
        **error_responses(408, 413, 503),
    },
)
async def receive_notification(request: Request, context: WhatsAppDep) -> WebhookReceipt:
    """Takes citizens' messages and passes the statuses of the office's messages on to notify,
    each once however often it is delivered; replies go out through notify."""
    body = await request.body()
    if not valid_hub_signature(body, request.headers.get(SIGNATURE_HEADER), context.app_secret):
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {SIGNATURE_HEADER} tidak ada atau tidak sah.",
        )
    try:
        payload = WebhookPayload.model_validate_json(body)
        messages, reports = payload.messages(), payload.reports()
    except ValidationError as exc:
        unreadable = [
            str(error.get("ctx", {}).get("error", ""))
            for error in exc.errors(include_input=False)
            if error["type"] == "json_invalid"
        ]
        if unreadable:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "invalid_json",
                f"Isi webhook bukan JSON yang sah ({unreadable[0]}).",
            ) from None
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_notification",
            "Isi webhook bukan notifikasi WhatsApp Cloud API yang sah: "
            f"{describe_validation_error(exc)}.",
        ) from None
    try:
        async with asyncio.timeout(DEADLINE_S):
            for reported in reports:
                await pass_on_report(
                    reported=reported, context=context.reports, now=context.clock()
                )
            for message in messages:
                await take_message(
                    message=message.inbound(), context=context.conversations, now=context.clock()
                )
    except TimeoutError:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "unavailable",
            "Pesan belum selesai diproses. Silakan kirim ulang.",
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    return WebhookReceipt(messages=len(messages), statuses=len(reports))
