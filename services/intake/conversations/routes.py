"""The chat channels' webhooks: WhatsApp Business Cloud API and the SMS gateway.

WhatsApp: Meta's verification challenge, citizens' messages and the delivery statuses of the
office's messages. Meta calls one callback URL per app for both, and it is this one. A delivery
is believed only if `X-Hub-Signature-256` is the HMAC-SHA256 of its raw body under the app
secret, checked before the body is read at all. Each message is one step of its sender's
conversation; each status (`sent`, `delivered`, `read`, `failed`) is passed on to notify once as
a `DeliveryReported` event, without the recipient's number (`service_layer`). Other statuses,
reactions and changes of other fields are acknowledged and left alone (`views`). A signed body
that is not JSON is refused with 400, JSON not of the documented shape with 422, each with the
reason.

SMS: citizens' text messages from feature phones, one command each. The gateway signs every
delivery: `X-Sms-Timestamp` (Unix seconds) and `X-Sms-Signature`, `sha256=` and the hex
HMAC-SHA256 of `{timestamp}.{raw body}` under the shared secret (INTAKE_SMS_WEBHOOK_SECRET). A
missing or wrong signature, or a timestamp that is not ASCII digits or is more than five minutes
off, is refused with 401 before the body is read, and nothing is stored. The body is JSON:
`{"message_id", "from", "text"}` (`to` and `received_at` may come and are ignored). The answer
goes back by SMS through notify, never in the HTTP response, so the gateway's retries cannot
send it twice.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from services.intake.conversations.ports import InboundMessages
from services.intake.conversations.service_layer import (
    ConversationContext,
    DeliveryReportContext,
    InboundMessage,
    pass_on_report,
    take_message,
    take_sms,
)
from services.intake.conversations.views import (
    InboundSms,
    SmsReceipt,
    WebhookPayload,
    WebhookReceipt,
)
from services.intake.domain.identity import InvalidIdentity, normalize_phone
from services.intake.service_layer.commands import CommandContext, Message
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.events.models.conversations import DeliveryReported
from shared.events.models.values import NotificationChannel
from shared.http.error_bodies import RETRY_AFTER_S, error_response, error_responses
from shared.redaction import describe_validation_error
from shared.signatures import valid_hub_signature, valid_timestamped_signature

WHATSAPP_WEBHOOK_PATH = "/v1/channels/whatsapp/webhook"
HUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
DEADLINE_S = 15.0
"""Past this the delivery is answered 503; the provider delivers it again and the steps already
taken are recognised."""
SMS_WEBHOOK_PATH = "/v1/channels/sms/webhook"
SMS_SIGNATURE_HEADER = "X-Sms-Signature"
SMS_TIMESTAMP_HEADER = "X-Sms-Timestamp"


@dataclass(frozen=True)
class WhatsAppContext:
    """What the WhatsApp webhook needs, put together by bootstrap."""

    app_secret: bytes
    verify_token: str
    conversations: ConversationContext
    reports: DeliveryReportContext
    clock: Clock


WhatsAppDep = Annotated[WhatsAppContext, Depends(provided(WhatsAppContext))]


@dataclass(frozen=True)
class SmsWebhookContext:
    """What the SMS webhook needs, put together by bootstrap."""

    secret: bytes
    inbound: InboundMessages
    commands: CommandContext
    clock: Clock


SmsDep = Annotated[SmsWebhookContext, Depends(provided(SmsWebhookContext))]

router = APIRouter()

_HUB_SIGNED_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": HUB_SIGNATURE_HEADER,
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


_SMS_SIGNED_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": SMS_TIMESTAMP_HEADER,
            "in": "header",
            "required": True,
            "description": "When the gateway signed the delivery, in Unix seconds.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        },
        {
            "name": SMS_SIGNATURE_HEADER,
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


@router.get(
    WHATSAPP_WEBHOOK_PATH,
    tags=["whatsapp"],
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
    WHATSAPP_WEBHOOK_PATH,
    tags=["whatsapp"],
    openapi_extra=_HUB_SIGNED_BODY,
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
    if not valid_hub_signature(body, request.headers.get(HUB_SIGNATURE_HEADER), context.app_secret):
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {HUB_SIGNATURE_HEADER} tidak ada atau tidak sah.",
        )
    messages, reports = _notification(body)
    try:
        async with asyncio.timeout(DEADLINE_S):
            for reported in reports:
                await pass_on_report(
                    reported=reported, context=context.reports, now=context.clock()
                )
            for message in messages:
                await take_message(
                    message=message, context=context.conversations, now=context.clock()
                )
    except TimeoutError:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "unavailable",
            "Pesan belum selesai diproses. Silakan kirim ulang.",
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    return WebhookReceipt(messages=len(messages), statuses=len(reports))


@router.post(
    SMS_WEBHOOK_PATH,
    tags=["sms"],
    openapi_extra=_SMS_SIGNED_BODY,
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
        request.headers.get(SMS_TIMESTAMP_HEADER),
        request.headers.get(SMS_SIGNATURE_HEADER),
        context.secret,
        now=now.timestamp(),
    ):
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {SMS_SIGNATURE_HEADER} tidak ada, tidak sah, atau kedaluwarsa.",
        )
    message = _sms_message(body)
    await take_sms(message=message, inbound=context.inbound, commands=context.commands, now=now)
    return SmsReceipt(accepted=True)


def _notification(body: bytes) -> tuple[list[InboundMessage], list[DeliveryReported]]:
    """Citizens' messages and the statuses notify records; 400 for a body that is not JSON, 422
    for one not of the Cloud API's shape."""
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
    return [message.inbound() for message in messages], reports


def _sms_message(body: bytes) -> Message:
    """The gateway's message from an Indonesian mobile number; 400 for a body that is not JSON,
    422 for one that is not such a message."""
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
    return Message(
        message_id=message.message_id,
        sender=sender,
        text=message.text,
        channel=NotificationChannel.SMS,
    )
