"""Checks on who a request is for: NIK and phone number, with reasons a citizen can read."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength
from stdnum.id import nik as stdnum_nik

from shared.errors import Kind, Refusal

NIK_PATTERN = r"^[0-9]{16}$"
"""A NIK as the API takes it: the 16 digits, nothing between them."""

_SEPARATOR = r"[ ().-]"
PHONE_PATTERN = (
    rf"^{_SEPARATOR}*(\+{_SEPARATOR}*6{_SEPARATOR}*2|6{_SEPARATOR}*2|0)"
    rf"{_SEPARATOR}*8({_SEPARATOR}*[0-9]){{7,11}}{_SEPARATOR}*$"
)
"""Exactly the numbers `normalize_phone` accepts: 08…, 628… or +628…, with spaces, dots, hyphens and
brackets anywhere."""

_PHONE_SEPARATORS = re.compile(_SEPARATOR)
_MOBILE = re.compile(r"\+628[0-9]{7,11}")
_NIK_DIGITS = re.compile(NIK_PATTERN)


class InvalidIdentity(Refusal, ValueError):
    """Raised with a reason in plain Indonesian; a ValueError too, so that pydantic validators
    report it as the field's error."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_request", message, Kind.INVALID)


def validate_nik(value: str) -> str:
    """Returns the NIK as 16 digits, or says why it is not one."""
    compact: str = stdnum_nik.compact(value)
    if not compact:
        raise InvalidIdentity("NIK harus terdiri dari 16 digit.")
    try:
        stdnum_nik.validate(compact)
    except InvalidLength:
        raise InvalidIdentity("NIK harus terdiri dari 16 digit.") from None
    except InvalidFormat:
        raise InvalidIdentity("NIK hanya boleh berisi angka.") from None
    except InvalidComponent:
        raise InvalidIdentity(
            "NIK tidak valid: kode wilayah atau tanggal lahir di dalamnya tidak benar."
        ) from None
    return compact


def validate_nik_digits(value: str) -> str:
    """Like `validate_nik`, for a NIK that must come as `NIK_PATTERN` says: no separators."""
    if _NIK_DIGITS.fullmatch(value) is None:
        validate_nik(value)
        raise InvalidIdentity(
            "NIK harus ditulis sebagai 16 angka 0-9, tanpa spasi atau tanda baca."
        )
    return validate_nik(value)


def normalize_phone(value: str) -> str:
    """Returns an Indonesian mobile number in E.164 form (+628...), or says why it is not one."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("628"):
        digits = "+" + digits
    if _MOBILE.fullmatch(digits) is None:
        raise InvalidIdentity("Nomor HP harus nomor seluler Indonesia, misalnya 081234567890.")
    return digits


class Sex(StrEnum):
    """As on the KK: L (laki-laki) or P (perempuan); a NIK adds 40 to the birth day of women."""

    MALE = "L"
    FEMALE = "P"


def check_resident(nik: str, regency_code: str) -> None:
    """The NIK was issued in the regency (its first four digits): some services are for
    residents only."""
    if not nik.startswith(regency_code):
        raise InvalidIdentity(
            "NIK ini terdaftar di kabupaten/kota lain; layanan ini hanya untuk penduduk kabupaten "
            "ini. Untuk pindah ke sini, ajukan layanan PINDAH_DATANG."
        )


def check_birth_details(nik: str, *, date_of_birth: date | None, sex: Sex | None) -> None:
    """The birth date and sex given agree with those the NIK encodes (DDMMYY, women's DD + 40)."""
    encoded_day = int(nik[6:8])
    female = encoded_day > 40
    if sex is not None and female != (sex is Sex.FEMALE):
        raise InvalidIdentity("Jenis kelamin tidak sesuai dengan NIK.")
    if date_of_birth is not None:
        day = encoded_day - 40 if female else encoded_day
        if (day, int(nik[8:10]), int(nik[10:12])) != (
            date_of_birth.day,
            date_of_birth.month,
            date_of_birth.year % 100,
        ):
            raise InvalidIdentity("Tanggal lahir tidak sesuai dengan NIK.")
