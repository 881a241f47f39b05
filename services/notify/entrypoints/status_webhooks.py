"""Providers' delivery statuses: the WhatsApp Business Cloud API's status webhook and the SMS
gateway's delivery reports.

Both are believed only when signed, checked on the raw body before it is read: WhatsApp's
`X-Hub-Signature-256` is the HMAC-SHA256 of the body under the Meta app's secret
(NOTIFY_WHATSAPP_APP_SECRET); the SMS gateway signs `{X-Sms-Timestamp}.{body}` under
NOTIFY_SMS_REPORT_SECRET, at most five minutes off. Anything else is 401 and nothing is stored.

WhatsApp's body is read as the Cloud API sends it: only the `statuses` of `messages` changes are
read; citizens' messages (intake's business), other fields, unknown statuses and fields the
Cloud API adds are acknowledged and left alone. The SMS gateway's report is this service's own
contract (`SmsDeliveryReport`).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.notify.domain.delivery_status import StatusReport
from services.notify.service_layer.statuses import StatusContext, take_report
from shared.clock import Clock
from shared.errors import ApiError
from shared.events.models import DeliveryChannel, DeliveryStatus
from shared.http import RETRY_AFTER_S, error_response, error_responses
from shared.redaction import describe_validation_error
from shared.signatures import valid_hub_signature, valid_timestamped_signature

WHATSAPP_PATH = "/v1/channels/whatsapp/statuses"
SMS_PATH = "/v1/channels/sms/reports"
HUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
SMS_SIGNATURE_HEADER = "X-Sms-Signature"
SMS_TIMESTAMP_HEADER = "X-Sms-Timestamp"
DEADLINE_S = 15.0
"""Past this the delivery is answered 503; the provider delivers it again and the statuses
already recorded are recognised."""
PROVIDER_ID = r"^[!-~]{1,256}$"
WHATSAPP_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}


@dataclass(frozen=True)
class StatusWebhooks:
    """What the webhooks need, put together by bootstrap."""

    whatsapp_app_secret: bytes
    whatsapp_verify_token: str
    sms_secret: bytes
    statuses: StatusContext
    clock: Clock


def get_webhooks(request: Request) -> StatusWebhooks:
    webhooks: StatusWebhooks = request.app.state.status_webhooks
    return webhooks


WebhooksDep = Annotated[StatusWebhooks, Depends(get_webhooks)]


class _Tolerant(BaseModel):
    """Fields the provider adds are ignored; those read here must be as documented."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class StatusError(_Tolerant):
    code: int
    title: str | None = Field(default=None, max_length=256)


class WhatsAppStatus(_Tolerant):
    """One status of one message; the recipient's number, the conversation and the pricing
    are not read."""

    id: str = Field(pattern=PROVIDER_ID)
    status: str = Field(min_length=1, max_length=64)
    timestamp: str = Field(pattern=r"^[0-9]{1,12}$")
    biz_opaque_callback_data: str | None = Field(default=None, max_length=512)
    errors: list[StatusError] = []

    def report(self) -> StatusReport | None:
        """None for a status this service does not record (e.g. a deprecated `deleted`)."""
        known = WHATSAPP_STATUSES.get(self.status)
        if known is None:
            return None
        error = self.errors[0] if self.errors else None
        return StatusReport(
            channel=DeliveryChannel.WHATSAPP,
            provider_message_id=self.id,
            status=known,
            at=datetime.fromtimestamp(int(self.timestamp), UTC),
            idempotency_key=self.biz_opaque_callback_data or None,
            error_code=None if error is None else str(error.code),
            error_reason=None if error is None else error.title,
        )


class StatusesValue(_Tolerant):
    messaging_product: Literal["whatsapp"]
    statuses: list[WhatsAppStatus] = []


class Change(_Tolerant):
    field: str
    value: dict[str, Any]


class Entry(_Tolerant):
    id: str
    changes: list[Change]


class WhatsAppNotification(_Tolerant):
    object: Literal["whatsapp_business_account"]
    entry: list[Entry]


def parse_whatsapp_statuses(body: bytes) -> list[StatusReport]:
    """The statuses of a delivery, in the order delivered; ValidationError if it is not the
    Cloud API's shape."""
    notification = WhatsAppNotification.model_validate_json(body)
    statuses = [
        item
        for entry in notification.entry
        for change in entry.changes
        if change.field == "messages"
        for item in StatusesValue.model_validate(change.value).statuses
    ]
    return [report for item in statuses if (report := item.report()) is not None]


class SmsReportStatus(StrEnum):
    SENT = "SENT"
    """Handed to the mobile network."""
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    """The network gave up before the phone came back on."""
    REJECTED = "REJECTED"
    UNDELIVERABLE = "UNDELIVERABLE"


SMS_STATUSES = {
    SmsReportStatus.SENT: DeliveryStatus.SENT,
    SmsReportStatus.DELIVERED: DeliveryStatus.DELIVERED,
}
"""The rest are failures, their kind kept as the reason."""


class SmsDeliveryReport(_Tolerant):
    """One delivery report of the SMS gateway."""

    message_id: str = Field(pattern=PROVIDER_ID, description="The gateway's id of the message.")
    reference: str | None = Field(
        default=None,
        max_length=512,
        description="The idempotency key notify sent the message under, echoed.",
    )
    status: SmsReportStatus
    at: AwareDatetime = Field(description="When the network reported it.")
    error: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="The gateway's error code of a failure; a code, never free text.",
    )

    def report(self) -> StatusReport:
        known = SMS_STATUSES.get(self.status, DeliveryStatus.FAILED)
        failed = known is DeliveryStatus.FAILED
        return StatusReport(
            channel=DeliveryChannel.SMS,
            provider_message_id=self.message_id,
            status=known,
            at=self.at.astimezone(UTC),
            idempotency_key=self.reference or None,
            error_code=self.error if failed else None,
            error_reason=self.status.value if failed else None,
        )


class StatusReceipt(BaseModel):
    statuses: int = Field(description="How many statuses the delivery held that notify records.")


router = APIRouter(tags=["delivery statuses"])

_WHATSAPP_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": HUB_SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "`sha256=` and the hex HMAC-SHA256 of the raw body under the app "
            "secret (NOTIFY_WHATSAPP_APP_SECRET).",
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
                    '[{"field": "messages", "value": {"statuses": [...]}}]}]}`.',
                }
            }
        },
    },
}
_SMS_BODY: dict[str, Any] = {
    "parameters": [
        {
            "name": SMS_TIMESTAMP_HEADER,
            "in": "header",
            "required": True,
            "description": "When the gateway signed the report, in Unix seconds.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
        },
        {
            "name": SMS_SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{raw body}` under "
            "NOTIFY_SMS_REPORT_SECRET.",
            "schema": {"type": "string", "pattern": "^sha256=[0-9a-fA-F]{64}$"},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": SmsDeliveryReport.model_json_schema()}},
    },
}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: error_response(status.HTTP_400_BAD_REQUEST, "Correctly signed, but not JSON."),
    401: error_response(
        status.HTTP_401_UNAUTHORIZED,
        "No signature, or not the body's (an SMS report's also over five minutes off); "
        "nothing is stored.",
    ),
    422: error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "Correctly signed JSON, but not as documented; the message says where.",
    ),
    **error_responses(408, 413, 503),
}


@router.get(
    WHATSAPP_PATH,
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
    webhooks: WebhooksDep,
    mode: Annotated[str, Query(alias="hub.mode", max_length=64)],
    verify_token: Annotated[str, Query(alias="hub.verify_token", max_length=512)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=512)],
) -> PlainTextResponse:
    """Meta's check when the callback URL is set up: the challenge is answered only to a
    subscription that names the verify token (NOTIFY_WHATSAPP_VERIFY_TOKEN)."""
    known = hmac.compare_digest(verify_token.encode(), webhooks.whatsapp_verify_token.encode())
    if mode != "subscribe" or not known:
        raise ApiError(
            status.HTTP_403_FORBIDDEN,
            "verification_refused",
            "Verifikasi webhook ditolak: mode atau verify token tidak sesuai.",
        )
    return PlainTextResponse(challenge)


@router.post(WHATSAPP_PATH, openapi_extra=_WHATSAPP_BODY, responses=_REFUSALS)
async def receive_whatsapp_statuses(request: Request, webhooks: WebhooksDep) -> StatusReceipt:
    """Records each status of the delivery once, however often and in whatever order they
    come."""
    body = await request.body()
    signature = request.headers.get(HUB_SIGNATURE_HEADER)
    if not valid_hub_signature(body, signature, webhooks.whatsapp_app_secret):
        raise _unsigned(HUB_SIGNATURE_HEADER)
    try:
        reports = parse_whatsapp_statuses(body)
    except ValidationError as exc:
        raise _unreadable(exc, "notifikasi WhatsApp Cloud API") from None
    return await _take(reports, webhooks)


@router.post(SMS_PATH, openapi_extra=_SMS_BODY, responses=_REFUSALS)
async def receive_sms_report(request: Request, webhooks: WebhooksDep) -> StatusReceipt:
    """Records the report's status once, however often it comes."""
    body = await request.body()
    if not valid_timestamped_signature(
        body,
        request.headers.get(SMS_TIMESTAMP_HEADER),
        request.headers.get(SMS_SIGNATURE_HEADER),
        webhooks.sms_secret,
        now=webhooks.clock().timestamp(),
    ):
        raise _unsigned(SMS_SIGNATURE_HEADER)
    try:
        report = SmsDeliveryReport.model_validate_json(body).report()
    except ValidationError as exc:
        raise _unreadable(exc, "laporan pengiriman SMS") from None
    return await _take([report], webhooks)


async def _take(reports: list[StatusReport], webhooks: StatusWebhooks) -> StatusReceipt:
    try:
        async with asyncio.timeout(DEADLINE_S):
            for report in reports:
                await take_report(report=report, context=webhooks.statuses)
    except TimeoutError:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "unavailable",
            "Status belum selesai dicatat. Silakan kirim ulang.",
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    return StatusReceipt(statuses=len(reports))


def _unsigned(header: str) -> ApiError:
    return ApiError(
        status.HTTP_401_UNAUTHORIZED,
        "invalid_signature",
        f"Tanda tangan {header} tidak ada, tidak sah, atau kedaluwarsa.",
    )


def _unreadable(exc: ValidationError, what: str) -> ApiError:
    if any(error["type"] == "json_invalid" for error in exc.errors(include_input=False)):
        return ApiError(status.HTTP_400_BAD_REQUEST, "invalid_json", "Isi webhook bukan JSON.")
    return ApiError(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid_report",
        f"Isi webhook bukan {what} yang sah: {describe_validation_error(exc)}.",
    )
