"""What the HTTP providers' failures mean for a retry: the provider's `Retry-After`, and a
transport failure before or after the request reached the provider."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from services.notify.service_layer.ports import ProviderError
from shared.clock import Clock

RETRYABLE_STATUS = frozenset({408, 425, 429})
"""Besides every 5xx: a timeout, too early, too many requests."""
AFTER_SENDING = (
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.RemoteProtocolError,
)
"""Transport failures once the request was (perhaps wholly) sent."""


DELAY_SECONDS = re.compile(r"[0-9]{1,9}")
"""Up to nine digits (about 31 years): a longer value is unreadable, not a wait."""


def retry_after(response: httpx.Response, clock: Clock) -> timedelta | None:
    """The wait a `Retry-After` asks for, as delay-seconds or an HTTP date; None if absent or
    unreadable, never negative. Delay-seconds are ASCII digits only: `str.isdigit` also takes
    `²`, which `int` then refuses, and an error there would stop delivery altogether."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if DELAY_SECONDS.fullmatch(value):
        return timedelta(seconds=int(value))
    try:
        moment: datetime = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment - clock(), timedelta(0))


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUS


def unreachable(provider: str, exc: httpx.TransportError) -> ProviderError:
    """A call that failed in transport. Only a failure to connect proves the provider never saw
    the request; a timeout or dropped connection after it was sent may hide an accepted one."""
    return ProviderError(
        f"{provider} unreachable: {type(exc).__name__}",
        retryable=True,
        maybe_accepted=isinstance(exc, AFTER_SENDING),
    )
