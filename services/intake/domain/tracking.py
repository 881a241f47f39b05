"""Tracking numbers: short enough to read over the phone or type on a feature phone."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""Digits and capitals without the look-alikes 0/O, 1/I/L."""
LENGTH = 8
TRACKING_PATTERN = rf"^[{ALPHABET}]{{{LENGTH}}}$"
NUMBERS = len(ALPHABET) ** LENGTH
"""How many tracking numbers there are: 31^8, about 8.5e11."""
_HALF_BITS = 20
_ROUNDS = 8
_SEPARATORS = re.compile(r"[\s-]")

KeyedHash = Callable[[str], str]
"""A keyed hash of a text, in hex (`Cipher.lookup_hash` with a purpose of its own)."""


def new_tracking_number() -> str:
    """8 of 31 symbols drawn at random: about 8.5e11 numbers, so guessing one is hopeless within
    rate limits. For the office's other numbers (bookings, complaints), whose stores refuse one
    given twice."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def tracking_number_for(sequence: int, keyed_hash: KeyedHash) -> str:
    """The tracking number of the `sequence`-th request: a keyed permutation of all numbers, so
    two requests never share one and nothing has to be written to reserve it, while to anyone
    without the key the numbers look drawn at random, neighbours included."""
    if not 0 <= sequence < NUMBERS:
        raise ValueError(f"sequence {sequence} is outside 0..{NUMBERS - 1}")
    value = _shuffle(sequence, keyed_hash)
    while value >= NUMBERS:  # walking the cycle back into range keeps it a permutation
        value = _shuffle(value, keyed_hash)
    symbols = []
    for _ in range(LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return "".join(reversed(symbols))


def _shuffle(value: int, keyed_hash: KeyedHash) -> int:
    """A keyed permutation of 40-bit values: a Feistel network whose rounds are the keyed hash."""
    mask = (1 << _HALF_BITS) - 1
    left, right = value >> _HALF_BITS, value & mask
    for round_number in range(_ROUNDS):
        mixed = int(keyed_hash(f"{round_number}:{right}")[: _HALF_BITS // 4], 16)
        left, right = right, left ^ mixed
    return (left << _HALF_BITS) | right


def normalize_tracking_number(value: str) -> str:
    """As a person may type it: any case, with spaces or hyphens; O read as 0 is not fixed."""
    return _SEPARATORS.sub("", value).upper()


def mask_tracking_number(number: str) -> str:
    """Enough for its holder to recognise, not enough to act on it."""
    return "*" * (len(number) - 3) + number[-3:]
