"""The SMS gateway's delivery reports, posted straight to notify.

A report is believed only when signed, checked on the raw body before it is read: the gateway
signs `{X-Sms-Timestamp}.{body}` under NOTIFY_SMS_REPORT_SECRET, at most five minutes off.
Anything else is 401 and nothing is stored. The report is this service's own contract
(`SmsDeliveryReport`). WhatsApp's statuses do not come here: Meta calls one callback URL, intake's
webhook, which passes them on as `DeliveryReported` events (`entrypoints.consumer`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.notify.domain.delivery_status import StatusReport
from services.notify.service_layer.statuses import StatusContext, take_report
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.http.error_bodies import RETRY_AFTER_S, error_response, error_responses
from shared.redaction import describe_validation_error
from shared.signatures import valid_timestamped_signature

SMS_PATH = "/v1/channels/sms/reports"
SMS_SIGNATURE_HEADER = "X-Sms-Signature"
SMS_TIMESTAMP_HEADER = "X-Sms-Timestamp"
DEADLINE_S = 15.0
"""Past this the report is answered 503; the gateway delivers it again and the status already
recorded is recognised."""
PROVIDER_ID = r"^[!-~]{1,256}$"


@dataclass(frozen=True)
class StatusWebhooks:
    """What the report webhook needs, put together by bootstrap."""

    sms_secret: bytes
    statuses: StatusContext
    clock: Clock


WebhooksDep = Annotated[StatusWebhooks, Depends(provided(StatusWebhooks))]


class _Tolerant(BaseModel):
    """Fields the provider adds are ignored; those read here must be as documented."""

    model_config = ConfigDict(extra="ignore", frozen=True)


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
    statuses: int = Field(description="How many statuses the report held that notify records.")


router = APIRouter(tags=["delivery statuses"])

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
        "No signature, not the body's, or over five minutes off; nothing is stored.",
    ),
    422: error_response(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "Correctly signed JSON, but not as documented; the message says where.",
    ),
    **error_responses(408, 413, 503),
}


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
        raise ApiError(
            status.HTTP_401_UNAUTHORIZED,
            "invalid_signature",
            f"Tanda tangan {SMS_SIGNATURE_HEADER} tidak ada, tidak sah, atau kedaluwarsa.",
        )
    try:
        report = SmsDeliveryReport.model_validate_json(body).report()
    except ValidationError as exc:
        raise _unreadable(exc) from None
    try:
        async with asyncio.timeout(DEADLINE_S):
            await take_report(report=report, context=webhooks.statuses)
    except TimeoutError:
        raise ApiError(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "unavailable",
            "Status belum selesai dicatat. Silakan kirim ulang.",
            {"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    return StatusReceipt(statuses=1)


def _unreadable(exc: ValidationError) -> ApiError:
    if any(error["type"] == "json_invalid" for error in exc.errors(include_input=False)):
        return ApiError(status.HTTP_400_BAD_REQUEST, "invalid_json", "Isi webhook bukan JSON.")
    return ApiError(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "invalid_report",
        f"Isi webhook bukan laporan pengiriman SMS yang sah: {describe_validation_error(exc)}.",
    )
