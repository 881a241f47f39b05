"""The signatures providers put on their webhook deliveries, checked over the raw body.

Meta signs each WhatsApp delivery with `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of
the raw body under the app secret. The SMS gateway signs `<timestamp>.<body>` the same way, so a
delivery replayed more than five minutes later is refused. Both are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_PREFIX = "sha256="
MAX_SKEW_S = 300
"""How far a timestamped delivery may be from now, either way."""
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
"""ASCII digits only: `str.isdigit` also takes `²` (the header byte 0xB2), which `int` refuses."""


def hub_signature(body: bytes, secret: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def valid_hub_signature(body: bytes, header: str | None, secret: bytes) -> bool:
    """Whether the header signs the body; the hex digest in either case."""
    if header is None or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(
        header.strip().lower().encode(), hub_signature(body, secret).encode()
    )


def timestamped_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    signed = timestamp.encode() + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret, signed, hashlib.sha256).hexdigest()


def valid_timestamped_signature(
    body: bytes, timestamp: str | None, given: str | None, secret: bytes, *, now: float
) -> bool:
    """Signed with the secret, at most five minutes ago or ahead."""
    if timestamp is None or given is None or UNIX_SECONDS.fullmatch(timestamp) is None:
        return False
    if abs(now - int(timestamp)) > MAX_SKEW_S:
        return False
    expected = timestamped_signature(secret, timestamp, body).encode()
    return hmac.compare_digest(given.strip().lower().encode(), expected)
