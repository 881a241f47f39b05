"""Checks a submission against its service's form in the catalogue, with reasons in Indonesian.

Every channel (app, WhatsApp, SMS, village operator, counter) goes through the same checks, so a
request is never accepted by one channel that another would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from services.intake.domain.catalogue import FieldType, FormField, ServiceDefinition
from services.intake.domain.identity import InvalidIdentity, validate_nik
from services.intake.domain.text import InvalidText, normalize_name
from shared.errors import Kind, Refusal

FAMILY_CARD_PATTERN = r"^[0-9]{16}$"
_FAMILY_CARD = re.compile(FAMILY_CARD_PATTERN)


class InvalidForm(Refusal, ValueError):
    """A field of the form is missing or wrong; `field` names it (the service's own fields as
    `fields.<name>`), the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__("invalid_form", reason, Kind.INVALID, details={field: reason})
        self.field = field


def check_fields(
    service: ServiceDefinition, given: Mapping[str, str], *, today: date
) -> dict[str, str]:
    """The service's own fields, checked and normalised; unknown or missing ones are refused."""
    unknown = sorted(set(given) - {field.name for field in service.fields})
    if unknown:
        raise InvalidForm(
            f"fields.{unknown[0]}",
            f"Isian '{unknown[0]}' tidak ada pada formulir layanan {service.code}.",
        )
    checked: dict[str, str] = {}
    for field in service.fields:
        value = given.get(field.name)
        if value is None or not value.strip():
            if field.required:
                raise InvalidForm(f"fields.{field.name}", f"{field.label} wajib diisi.")
            continue
        checked[field.name] = check_field(field, value, today=today)
    return checked


def check_field(field: FormField, value: str, *, today: date) -> str:
    """One answer, normalised (as a conversation asks the fields one at a time)."""
    value = value.strip()
    if len(value) > field.max_length:
        raise InvalidForm(
            f"fields.{field.name}", f"{field.label} paling panjang {field.max_length} karakter."
        )
    try:
        match field.type:
            case FieldType.TEXT:
                return normalize_name(value)
            case FieldType.NIK:
                return validate_nik(value)
            case FieldType.FAMILY_CARD:
                return validate_family_card(value)
            case FieldType.CHOICE:
                choice = field.choice(value.upper())
                if choice is None:
                    keys = ", ".join(choice.key for choice in field.choices)
                    raise InvalidForm(
                        f"fields.{field.name}", f"{field.label} harus salah satu dari: {keys}."
                    )
                return choice.key
            case FieldType.DATE:
                return _check_date(field, value, today=today).isoformat()
    except (InvalidIdentity, InvalidText) as exc:
        raise InvalidForm(f"fields.{field.name}", f"{field.label}: {exc}") from None


def validate_family_card(value: str) -> str:
    """A family card number: 16 digits, without separators."""
    compact = re.sub(r"[\s.-]", "", value)
    if _FAMILY_CARD.fullmatch(compact) is None:
        raise InvalidIdentity("Nomor KK harus terdiri dari 16 angka.")
    return compact


def _check_date(field: FormField, value: str, *, today: date) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidForm(
            f"fields.{field.name}",
            f"{field.label} harus tanggal dengan format TTTT-BB-HH, misalnya 2020-05-31.",
        ) from None
    if field.not_in_future and day > today:
        raise InvalidForm(f"fields.{field.name}", f"{field.label} tidak boleh di masa depan.")
    if day.year < 1900:
        raise InvalidForm(f"fields.{field.name}", f"{field.label} tidak boleh sebelum tahun 1900.")
    return day
