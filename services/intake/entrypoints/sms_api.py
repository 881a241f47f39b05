"""The SMS gateway's webhook: citizens' text messages from feature phones, one command each.

The gateway signs every delivery: `X-Sms-Timestamp` (Unix seconds) and `X-Sms-Signature`,
`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{raw body}` under the shared secret
(INTAKE_SMS_WEBHOOK_SECRET). A missing or wrong signature, or a timestamp that is not ASCII digits
or is more than five minutes off, is refused with 401 before the body is read, and nothing is
stored. The body is JSON:
`{"message_id", "from", "text"}` (`to` and `received_at` may come and are ignored). The answer
goes back by SMS through notify, never in the HTTP response, so the gateway's retries cannot
send it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.intake.domain.identity import InvalidIdentity, normalize_phone
from services.intake.service_layer import submission
from services.intake.service_layer.commands import CommandContext, Message, answer
from services.intake.service_layer.ports import InboundMessages
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.conversations import ConversationReply
from shared.events.models.values import NotificationChannel
from shared.http.error_bodies import error_response, error_responses
from shared.redaction import describe_validation_error
from shared.signatures import valid_timestamped_signature

WEBHOOK_PATH = "/v1/channels/sms/webhook"
PROVIDER = "sms"
SIGNATURE_HEADER = "X-Sms-Signature"
TIMESTAMP_HEADER = "X-Sms-Timestamp"


@dataclass(frozen=True)
class SmsWebhookContext:
    """What the webhook needs, put together by bootstrap."""

    secret: bytes
    inbound: InboundMessages
    commands: CommandContext
    clock: Clock


SmsDep = Annotated[SmsWebhookContext, Depends(provided(SmsWebhookContext))]


class InboundSms(BaseModel):
    """One text message as the gateway delivers it."""

    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")
    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(max_length=1600)


class SmsReceipt(BaseModel):
    accepted: bool = Field(description="Always true: the message was taken, or was before.")


router = APIRouter(tags=["sms"])

_SIGNED_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": TIMESTAMP_HEADER,
            "in": "header",
            "required": True,
            "description": "When the gateway signed the delivery, in Unix seconds.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        },
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{raw body}` under "
            "INTAKE_SMS_WEBHOOK_SECRET.",
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": InboundSms.model_json_schema(by_alias=True)}},
    },
}


@router.post(
    WEBHOOK_PATH,
    openapi_extra=_SIGNED_BODY,
    responses={
        400: error_response(status.HTTP_400_BAD_REQUEST, "Correctly signed, but not JSON."),
        401: error_response(
            status.HTTP_401_UNAUTHORIZED,
            "No signature, a wrong one, or a timestamp over five minutes off; nothing is stored.",
        ),
        422: error_response(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "Correctly signed JSON, but not a message, or not from an Indonesian mobile number.",
        ),
        **error_responses(408, 413, 503),
    },
)
async def receive_sms(request: Request, context: SmsDep) -> SmsReceipt:
    """Carries out the message's command once, however often it is delivered, and queues the
    reply for notify to send by SMS."""
    body = await request.body()
    now = context.clock()
    if not valid_timestamped_signature(
        body,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        context.secret,
        now=now.timestamp(),
    ):
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {SIGNATURE_HEADER} tidak ada, tidak sah, atau kedaluwarsa.",
        )
    try:
        message = InboundSms.model_validate_json(body)
        sender = normalize_phone(message.sender)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_input=False)):
            raise ApiError(
                status.HTTP_400_BAD_REQUEST, "invalid_json", "Isi webhook bukan JSON yang sah."
            ) from None
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "invalid_message",
            f"Isi webhook bukan pesan SMS yang sah: {describe_validation_error(exc)}.",
        ) from None
    except InvalidIdentity as exc:
        raise ApiError(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_sender", str(exc)) from None
    if not await context.inbound.arrived(provider=PROVIDER, message_id=message.message_id, now=now):
        return SmsReceipt(accepted=True)
    incoming = Message(
        message_id=message.message_id,
        sender=sender,
        text=message.text,
        channel=NotificationChannel.SMS,
    )
    text = await answer(incoming, context.commands, now=now)
    reply = ConversationReply(
        actor=Actor(kind=ActorKind.SYSTEM, id="intake", channel=Channel.SMS),
        reply_id=f"{PROVIDER}:{message.message_id}",
        phone=sender,
        channel=NotificationChannel.SMS,
        text=text,
        in_reply_to=message.message_id,
    )
    await context.inbound.outgoing.commit(
        reply.reply_id,
        [reply],
        partial(context.inbound.handled, provider=PROVIDER, message_id=message.message_id, now=now),
        source=submission.SOURCE,
        time=now,
    )
    return SmsReceipt(accepted=True)
