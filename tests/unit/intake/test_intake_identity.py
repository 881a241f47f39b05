from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.identity import (
    NIK_PATTERN,
    PHONE_PATTERN,
    InvalidIdentity,
    normalize_phone,
    validate_nik,
    validate_nik_digits,
)

WRONG_LENGTH = "NIK harus terdiri dari 16 digit."
NOT_DIGITS = "NIK hanya boleh berisi angka."
BAD_COMPONENT = "NIK tidak valid: kode wilayah atau tanggal lahir di dalamnya tidak benar."


def test_a_valid_nik_is_returned_as_sixteen_digits() -> None:
    assert validate_nik("3516091204800001") == "3516091204800001"


def test_separators_in_a_nik_are_removed() -> None:
    assert validate_nik(" 3516.0912.0480.0001 ") == "3516091204800001"


def test_a_woman_s_nik_with_forty_added_to_the_day_is_valid() -> None:
    assert validate_nik("3516095204800001") == "3516095204800001"


@pytest.mark.parametrize(
    ("nik", "reason"),
    [
        ("", WRONG_LENGTH),
        ("351609120480001", WRONG_LENGTH),
        ("35160912048000011", WRONG_LENGTH),
        ("35160912048000AB", NOT_DIGITS),
        ("3516O91204800001", NOT_DIGITS),
        ("3516093204800001", BAD_COMPONENT),
        ("3516091213800001", BAD_COMPONENT),
        ("3516090004800001", BAD_COMPONENT),
        ("9971091204800001", BAD_COMPONENT),
    ],
    ids=[
        "empty",
        "15-digits",
        "17-digits",
        "letters",
        "letter-o-for-zero",
        "day-32",
        "month-13",
        "day-0",
        "unknown-region",
    ],
)
def test_an_invalid_nik_is_refused_with_an_indonesian_reason(nik: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as refused:
        validate_nik(nik)

    assert str(refused.value) == reason


@pytest.mark.parametrize(
    "phone",
    ["081234567890", "+62 812-3456-7890", "6281234567890", "(0812) 3456.7890", "+6281234567890"],
)
def test_indonesian_mobile_numbers_are_normalised_to_e164(phone: str) -> None:
    assert normalize_phone(phone) == "+6281234567890"


@pytest.mark.parametrize(
    "phone",
    [
        "0211234567",
        "+62211234567",
        "0812345",
        "08123456789012345",
        "+14155552671",
        "+6581234567",
        "81234567890",
        "0812abc4567",
        "",
        "+628\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",
        "081234567890\n",
        "0812\t34567890",
        "0812+34567890",
    ],
    ids=[
        "jakarta-landline",
        "landline-e164",
        "too-short",
        "too-long",
        "us-number",
        "singapore-number",
        "no-prefix",
        "letters",
        "empty",
        "arabic-indic-digits",
        "trailing-newline",
        "tab",
        "plus-after-digits",
    ],
)
def test_numbers_that_are_not_indonesian_mobiles_are_refused(phone: str) -> None:
    with pytest.raises(InvalidIdentity, match="Nomor HP harus nomor seluler Indonesia"):
        normalize_phone(phone)


def test_the_api_takes_a_nik_as_sixteen_digits_only() -> None:
    assert validate_nik_digits("3516091204800001") == "3516091204800001"


@pytest.mark.parametrize(
    ("nik", "reason"),
    [
        ("3516.0912.0480.0001", "tanpa spasi atau tanda baca"),
        (" 3516091204800001", "tanpa spasi atau tanda baca"),
        ("3516091204800001\n", "tanpa spasi atau tanda baca"),
        ("35160912", WRONG_LENGTH),
        ("35160912048000AB", NOT_DIGITS),
        ("3516093204800001", BAD_COMPONENT),
    ],
)
def test_the_api_refuses_a_nik_in_any_other_spelling(nik: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity, match=reason):
        validate_nik_digits(nik)

    assert (re.fullmatch(NIK_PATTERN, nik) is not None) is (reason == BAD_COMPONENT)


def phone_accepted(phone: str) -> bool:
    try:
        normalize_phone(phone)
    except InvalidIdentity:
        return False
    return True


PHONE = re.compile(PHONE_PATTERN)


@settings(max_examples=500, derandomize=True)
@given(st.text(alphabet="0123456789++() .-\t8", max_size=20))
def test_the_phone_pattern_accepts_exactly_the_numbers_the_server_accepts(phone: str) -> None:
    assert (PHONE.fullmatch(phone) is not None) is phone_accepted(phone)


@settings(max_examples=50, derandomize=True)
@given(st.from_regex(PHONE, fullmatch=True))
def test_every_number_the_phone_pattern_describes_is_accepted(phone: str) -> None:
    assert normalize_phone(phone).startswith("+628")
