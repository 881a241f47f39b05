"""Saying what failed without repeating what it was given: events carry personal data (NIK, names,
phone numbers), and logs and dead-letter headers must never hold it.

Validation errors are described by field and error type only. Any other error text is passed
through `redact`, which removes what has a recognisable shape; names have none, so no code may
put them in an error message or a log line in the first place.
"""

from __future__ import annotations

import re
import traceback

from pydantic import ValidationError

REDACTIONS = (
    # pydantic's "input_value=..., input_type=dict" (or to the end of the line when truncated).
    (re.compile(r"input_value=(?:.*?(?=, input_type=)|.*)"), "input_value=<redacted>"),
    # NIK: 16 digits.
    (re.compile(r"(?<!\d)\d{16}(?!\d)"), "<nik>"),
    # Indonesian mobile numbers: +62 8…, 62 8… or 08…, 10 to 13 digits with the leading 0.
    (re.compile(r"(?<![\d+.])(?:\+62|62|0)[ -]?8(?:[ -]?\d){8,11}(?!\d)"), "<phone>"),
    # URL query parameters named as secrets (Meta's `hub.verify_token`, any `…token`, `…secret`,
    # `…password`, `…signature`, `…key`): uvicorn's access log writes every query string.
    (
        re.compile(
            r"([?&][^?&=#\s\"']*(?:token|secret|password|signature|key)=)[^&#\s\"']*",
            re.IGNORECASE,
        ),
        r"\1<redacted>",
    ),
)

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n"


def redact(text: str) -> str:
    """`text` without NIKs, phone numbers, validation inputs and secrets in query strings."""
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def describe_validation_error(exc: ValidationError) -> str:
    """Where and why validation failed, without the offending values (they may be personal)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['type']}"
        for error in exc.errors(include_url=False, include_input=False)
    )


def describe_error(exc: BaseException) -> str:
    """The error's type and message, safe for a log line or a header."""
    if isinstance(exc, ValidationError):
        return f"{type(exc).__name__}: {describe_validation_error(exc)}"
    return redact(f"{type(exc).__name__}: {exc}")


def format_exception(exc: BaseException) -> str:
    """A traceback as Python prints it, but every exception of the chain told by `describe_error`:
    a validation error raised deep inside would otherwise print its input with the traceback."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        heading = "Traceback (most recent call last):\n" if frames else ""
        parts.append(f"{heading}{frames}{describe_error(current)}")
        if current.__cause__ is not None:
            parts.append(_CAUSE)
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            parts.append(_CONTEXT)
            current = current.__context__
        else:
            current = None
    return "\n".join(reversed(parts))
