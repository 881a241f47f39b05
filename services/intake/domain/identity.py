"""Checks on who a request is for: NIK and phone number, with reasons a citizen can read."""

from __future__ import annotations

import re

from stdnum.exceptions import InvalidComponent, InvalidFormat, InvalidLength
from stdnum.id import nik as stdnum_nik

_PHONE_SEPARATORS = re.compile(r"[\s().-]")
_MOBILE = re.compile(r"^\+628\d{7,11}$")


class InvalidIdentity(ValueError):
    """Raised with a reason in plain Indonesian."""


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


def normalize_phone(value: str) -> str:
    """Returns an Indonesian mobile number in E.164 form (+628...), or says why it is not one."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("628"):
        digits = "+" + digits
    if not _MOBILE.match(digits):
        raise InvalidIdentity("Nomor HP harus nomor seluler Indonesia, misalnya 081234567890.")
    return digits
