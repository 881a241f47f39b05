"""Tracking numbers from a sequence: a keyed permutation, so none is given twice and none is
guessable from its neighbours."""

from __future__ import annotations

import hmac
import re
from collections import Counter
from hashlib import sha256

import pytest

from services.intake.domain.tracking import (
    ALPHABET,
    NUMBERS,
    TRACKING_PATTERN,
    KeyedHash,
    tracking_number_for,
)


def keyed(key: bytes) -> KeyedHash:
    return lambda text: hmac.new(key, text.encode(), sha256).hexdigest()


KEY = keyed(b"k" * 32)


def test_distinct_sequence_numbers_give_distinct_well_formed_numbers() -> None:
    sequences = [*range(40_000), *range(NUMBERS - 20_000, NUMBERS)]

    numbers = [tracking_number_for(n, KEY) for n in sequences]

    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(TRACKING_PATTERN, number) for number in numbers)


def test_consecutive_numbers_spread_over_every_symbol_of_every_position() -> None:
    numbers = [tracking_number_for(n, KEY) for n in range(31_000)]

    for position in range(8):
        counts = Counter(number[position] for number in numbers)
        assert set(counts) == set(ALPHABET)
        assert all(850 < count < 1150 for count in counts.values()), (position, counts)


def test_the_numbers_depend_on_the_key() -> None:
    mine = [tracking_number_for(n, KEY) for n in range(1_000)]
    again = [tracking_number_for(n, keyed(b"k" * 32)) for n in range(1_000)]
    other = [tracking_number_for(n, keyed(b"o" * 32)) for n in range(1_000)]

    assert mine == again
    assert sum(a == b for a, b in zip(mine, other, strict=True)) < 5


@pytest.mark.parametrize("sequence", [-1, NUMBERS, NUMBERS + 10])
def test_a_sequence_number_outside_the_numbers_is_refused(sequence: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        tracking_number_for(sequence, KEY)
