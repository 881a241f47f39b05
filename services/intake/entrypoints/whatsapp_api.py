"""The WhatsApp Business Cloud API webhook: Meta's verification challenge, and citizens' messages.

A delivery is believed only if `X-Hub-Signature-256` is the HMAC-SHA256 of its raw body under
the app secret, checked before the body is read at all. Each message is one step of its sender's
conversation (`service_layer.conversations`); status updates, reactions and changes of other
fields are acknowledged and left alone. The body is read as the Cloud API sends it: fields this
service does not use may come and go, those it uses must be as documented. A signed body that is
not JSON is refused with 400, JSON not of the documented shape with 422, each with the reason.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.intake.adapters.whatsapp_media import MEDIA_ID_PATTERN
from services.intake.domain.conversation import Text, Unsupported
from services.intake.service_layer.conversations import (
    ConversationContext,
    InboundMessage,
    MediaRef,
    take_message,
)
from shared.clock import Clock
from shared.errors import ApiError
from shared.events.models import NotificationChannel
from shared.http import RETRY_AFTER_S, error_response, error_responses
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


@dataclass(frozen=True)
class WhatsAppContext:
    """What the webhook needs, put together by bootstrap."""

    app_secret: bytes
    verify_token: str
    conversations: ConversationContext
    clock: Clock


def get_whatsapp(request: Request) -> WhatsAppContext:
    context: WhatsAppContext = request.app.state.whatsapp
    return context


WhatsAppDep = Annotated[WhatsAppContext, Depends(get_whatsapp)]


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
    statuses: list[dict[str, Any]] = []


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


def parse_messages(body: bytes) -> list[Message]:
    """The messages of a delivery; ValidationError if it is not the Cloud API's shape."""
    return WebhookPayload.model_validate_json(body).messages()


class WebhookReceipt(BaseModel):
    messages: int = Field(description="How many citizens' messages the delivery held.")


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
                    '[{"field": "messages", "value": {...}}]}]}`.',
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
    """Takes citizens' messages, each once however often it is delivered, and acknowledges
    status updates; replies go out through notify."""
    body = await request.body()
    if not valid_hub_signature(body, request.headers.get(SIGNATURE_HEADER), context.app_secret):
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {SIGNATURE_HEADER} tidak ada atau tidak sah.",
        )
    try:
        messages = parse_messages(body)
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
    return WebhookReceipt(messages=len(messages))
