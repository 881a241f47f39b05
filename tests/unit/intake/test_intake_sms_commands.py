from __future__ import annotations

from datetime import date

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.sms_commands import (
    Apply,
    AskStatus,
    Book,
    Complain,
    Help,
    NotUnderstood,
    ProvePhone,
    Withdraw,
    parse,
    parse_date,
    service_code,
)
from shared.events.models.complaints import ComplaintCategory
from shared.gsm7 import is_gsm7, segments, septets, to_gsm7

CODES = [service.code for service in load_catalogue().all()]


@pytest.mark.parametrize(
    "text",
    [
        "DAFTAR KTP_CETAK 3516091204800001 Siti Aminah#3516090101080001#HILANG",
        "daftar ktp_cetak 3516091204800001 Siti Aminah#3516090101080001#HILANG",
        "  DAFTAR   KTP-CETAK  3516091204800001   Siti   Aminah # 3516090101080001 # HILANG ",
        "DAFTR KTPCETAK 3516091204800001 Siti Aminah#3516090101080001#HILANG",
        "DAFATR KTP_CETK 3516091204800001 Siti Aminah#3516090101080001#HILANG",
    ],
)
def test_an_application_is_read_whatever_the_spelling(text: str) -> None:
    assert parse(text, CODES) == Apply(
        service_code="KTP_CETAK",
        nik="3516091204800001",
        name="Siti Aminah",
        answers=("3516090101080001", "HILANG"),
    )


def test_an_application_without_fields_has_no_answers() -> None:
    command = parse("DAFTAR KK_BARU 3516091204800001 Siti Aminah", CODES)

    assert command == Apply(
        service_code="KK_BARU", nik="3516091204800001", name="Siti Aminah", answers=()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STATUS K7M2Q9XP", AskStatus(tracking_number="K7M2Q9XP", nik_last4=None)),
        ("status k7m2-q9xp 0001", AskStatus(tracking_number="K7M2Q9XP", nik_last4="0001")),
        ("STATSU K7M2Q9XP", AskStatus(tracking_number="K7M2Q9XP", nik_last4=None)),
        ("BATAL k7m2q9xp", Withdraw(tracking_number="K7M2Q9XP")),
        ("BANTUAN", Help(service_code=None)),
        ("bantuan akta-lahir", Help(service_code="AKTA_LAHIR")),
        (
            "JANJI KTP_REKAM 31-12-2026 3516091204800001 Budi Santoso",
            Book(
                service_code="KTP_REKAM",
                day=date(2026, 12, 31),
                nik="3516091204800001",
                name="Budi Santoso",
            ),
        ),
        (
            "ADUAN pungli petugas minta uang 50 ribu",
            Complain(
                category=ComplaintCategory.ILLEGAL_FEE, description="petugas minta uang 50 ribu"
            ),
        ),
        (
            "ADUAN LAMBT sudah dua minggu",
            Complain(category=ComplaintCategory.DELAY, description="sudah dua minggu"),
        ),
        ("MASUK 042917", ProvePhone(code="042917")),
        ("masuk 042 917", ProvePhone(code="042917")),
    ],
)
def test_every_command_is_read(text: str, expected: object) -> None:
    assert parse(text, CODES) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "BANTUAN"),
        ("HALO", "tidak dikenal"),
        ("DAFTAR KTP_CETAK", "Format: DAFTAR"),
        ("DAFTAR SIM_A 3516091204800001 Siti", "Layanan SIM_A tidak dikenal"),
        ("STATUS", "Format: STATUS"),
        ("STATUS K7M2Q9XP 12", "Format: STATUS"),
        ("BATAL", "Format: BATAL"),
        ("JANJI KTP_REKAM 31-02-2026 3516091204800001 Budi", "Tanggal 31-02-2026"),
        ("ADUAN MARAH sekali", "Jenis aduan"),
        ("ADUAN", "Format: ADUAN"),
        ("MASUK", "Format: MASUK"),
        ("MASUK 12345", "Format: MASUK"),
    ],
)
def test_a_message_that_follows_no_command_gets_a_hint(text: str, hint: str) -> None:
    with pytest.raises(NotUnderstood) as refused:
        parse(text, CODES)

    assert hint in str(refused.value)
    assert segments(str(refused.value)) == 1


def test_an_ambiguous_slip_is_not_guessed() -> None:
    with pytest.raises(NotUnderstood):
        service_code("KK_UBAR", ["KK_UBAH", "KK_UBAS"])


@pytest.mark.parametrize("word", ["31-12-2026", "31/12/2026", "31.12.2026", "2026-12-31"])
def test_dates_are_read_in_the_usual_spellings(word: str) -> None:
    assert parse_date(word) == date(2026, 12, 31)


def test_gsm7_counts_extended_characters_twice_and_spots_ucs2() -> None:
    assert septets("Rp 50.000 [gratis]") == 20
    assert is_gsm7("Layanan ini GRATIS.")
    assert not is_gsm7("Layanan ini gratis \u2014 tanpa biaya")
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("\u2014" * 70) == 1
    assert to_gsm7("Jum\u2019at \u201cgratis\u201d") == 'Jum\'at "gratis"'
