"""Tracking numbers: short enough to read over the phone or type on a feature phone."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Digits and capitals without the look-alikes 0/O, 1/I/L."""
LENGTH = 8
TRACKING_PATTERN = rf"^[{ALPHABET}]{{{LENGTH}}}$"
_SEPARATORS = re.compile(r"[\s-]")


def new_tracking_number() -> str:
    """8 of 31 symbols: about 8.5e11 numbers, so guessing one is hopeless within rate limits."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalize_tracking_number(value: str) -> str:
    """As a person may type it: any case, with spaces or hyphens; O read as 0 is not fixed."""
    return _SEPARATORS.sub("", value).upper()


def mask_tracking_number(number: str) -> str:
    """Enough for its holder to recognise, not enough to act on it."""
    return "*" * (len(number) - 3) + number[-3:]
