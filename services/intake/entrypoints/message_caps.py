"""The one answer every route gives when a form would send a capped message: 429 and when."""

from __future__ import annotations

from datetime import datetime

from services.intake.domain.citizen_request import Submitter
from services.intake.domain.message_caps import CapReason, MessageCapReached
from services.intake.service_layer.message_caps import MessageCaps
from shared.errors import ApiError
from shared.http.error_bodies import error_response

CAPPED = error_response(
    429,
    "`rate_limited`: too many calls from this client. `phone_messages_capped`: the form's phone "
    "has had its share of messages today from callers who did not prove it (signing in with "
    "that phone lifts it). `messages_busy`: the office is sending too many such messages this "
    "minute. `Retry-After` says how long to wait.",
)


async def admit_message(
    caps: MessageCaps, submitter: Submitter, phone: str | None, now: datetime
) -> None:
    """Refuses the form with 429 before anything is written if its message is over a cap."""
    try:
        await caps.admit(submitter, phone, now)
    except MessageCapReached as exc:
        if exc.reason is CapReason.OFFICE:
            raise ApiError.retry_later(
                exc.retry_after_s,
                "messages_busy",
                "Terlalu banyak pesan dikirim saat ini. Silakan coba lagi dalam "
                f"{exc.retry_after_s} detik.",
            ) from None
        raise ApiError.retry_later(
            exc.retry_after_s,
            "phone_messages_capped",
            "Nomor HP ini sudah menerima terlalu banyak pesan hari ini. Masuk dengan kode yang "
            "dikirim ke nomor ini untuk melanjutkan, atau coba lagi besok.",
        ) from None
