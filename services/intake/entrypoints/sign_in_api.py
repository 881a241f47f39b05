"""Citizens' sign-in over HTTP: ask for a one-time code, then exchange it for a token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.intake.domain.identity import PHONE_PATTERN, normalize_phone
from services.intake.domain.sign_in import CODE_DIGITS, CheckOutcome
from services.intake.entrypoints.api import ContextDep
from services.intake.service_layer import sign_in
from shared.errors import ApiError
from shared.events.models.values import NotificationChannel
from shared.http.error_bodies import error_response, error_responses

PhoneNumber = Annotated[str, AfterValidator(normalize_phone)]
_PHONE = Field(
    json_schema_extra={"pattern": PHONE_PATTERN, "examples": ["081234567890"]},
    description="Indonesian mobile number: 08…, 628… or +628….",
)
_WAIT = error_response(
    status.HTTP_429_TOO_MANY_REQUESTS,
    "Not now, for one of three reasons. `try_later`: this phone had a code less than a minute "
    "ago, five this hour or ten today. `codes_busy`: the office sent as many codes this minute "
    "as it may, to all phones together. `locked_out` (verify only): wrong codes locked the "
    "phone out; the lockout grows with each one, and ends at once when the owner sends a new "
    "code back from the phone, `MASUK <kode>` by SMS or WhatsApp. `Retry-After` says how long "
    "to wait.",
)


class CodeRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber = _PHONE
    channel: NotificationChannel = Field(description="Where the code is sent.")


class CodeSentView(BaseModel):
    challenge_id: str = Field(description="The sign-in attempt this code belongs to.")
    expires_at: datetime = Field(description="When the code stops working (UTC).")
    locked_until: datetime | None = Field(
        default=None,
        description="Set while wrong codes keep the phone locked out (UTC): until then the code "
        "signs no one in, but sent back from the phone itself, `MASUK <kode>` by SMS or "
        "WhatsApp to the office's number, it ends the lockout.",
    )


class CodeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: PhoneNumber = _PHONE
    code: str = Field(
        pattern=rf"^[0-9]{{{CODE_DIGITS}}}$",
        examples=["123456"],
        description="The code as received.",
    )


class TokenView(BaseModel):
    """An OAuth2-style bearer token for the citizen, bound to their phone number."""

    access_token: str = Field(description="Send as `Authorization: Bearer <access_token>`.")
    token_type: str = Field(default="Bearer", description="Always `Bearer`.")
    expires_in: int = Field(description="Seconds the token is valid for.")


router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


@router.post(
    "/otp",
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: _WAIT, **error_responses(408, 413, 422, 503)},
)
async def request_code(body: CodeRequestBody, context: ContextDep) -> CodeSentView:
    """Sends a one-time code to the phone by WhatsApp or SMS."""
    sent = await sign_in.send_code(
        phone=body.phone, channel=body.channel, context=context.sign_in, now=context.clock()
    )
    return CodeSentView(
        challenge_id=sent.challenge_id, expires_at=sent.expires_at, locked_until=sent.locked_until
    )


@router.post(
    "/otp/verify",
    responses={
        400: error_response(
            status.HTTP_400_BAD_REQUEST,
            "The code is wrong (`invalid_code`, with the attempts left) or no longer valid "
            "(`expired_code`: expired, used, or never sent).",
        ),
        429: _WAIT,
        **error_responses(408, 413, 422, 503),
    },
)
async def verify_code(body: CodeBody, context: ContextDep) -> TokenView:
    """Exchanges the code for a token. Every fifth wrong code since the phone last signed in,
    whichever codes they were, locks it out: 15 minutes, then twice as long each time, up to a
    day; the owner ends a lockout by sending a new code back from the phone."""
    try:
        signed_in = await sign_in.verify_code(
            phone=body.phone,
            code=body.code,
            context=context.sign_in,
            tokens=context.citizen_tokens,
            now=context.clock(),
        )
    except sign_in.CodeRefused as exc:
        check = exc.check
        if check.outcome is CheckOutcome.LOCKED:
            raise ApiError.retry_later(
                check.retry_after_s,
                "locked_out",
                "Terlalu banyak kode salah; nomor ini dikunci selama "
                f"{check.retry_after_s} detik. Pemilik nomor dapat membukanya sekarang: minta "
                "kode baru, lalu kirim MASUK <kode> dari nomor ini lewat SMS atau WhatsApp.",
            ) from None
        if check.outcome is CheckOutcome.WRONG:
            raise ApiError(
                status.HTTP_400_BAD_REQUEST,
                "invalid_code",
                f"Kode salah. Sisa percobaan: {check.attempts_left}.",
            ) from None
        raise ApiError(
            status.HTTP_400_BAD_REQUEST,
            "expired_code",
            "Kode tidak berlaku lagi. Silakan minta kode baru.",
        ) from None
    return TokenView(access_token=signed_in.token, expires_in=signed_in.expires_in_s)
