from __future__ import annotations

import pytest

from services.intake.domain.identity import InvalidIdentity, normalize_phone, validate_nik

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
    ],
)
def test_numbers_that_are_not_indonesian_mobiles_are_refused(phone: str) -> None:
    with pytest.raises(InvalidIdentity, match="Nomor HP harus nomor seluler Indonesia"):
        normalize_phone(phone)
