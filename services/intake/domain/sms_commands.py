"""The keyword grammar of the SMS channel, for citizens with a feature phone.

One message is one command; the first word says which:

    DAFTAR <layanan> <NIK> <nama>#<isian 1>#<isian 2>...   apply for an online service
    STATUS <nomor lacak> [<4 angka akhir NIK>]               where a request stands
    BATAL <nomor lacak>                                      withdraw a request
    JANJI <layanan> <tanggal> <NIK> <nama>                   book a visit (KTP_REKAM, IKD_AKTIVASI)
    ADUAN <PUNGLI|KASAR|LAMBAT|LAIN> <cerita>                report an illegal fee, rudeness, delay
    BANTUAN [<layanan>]                                      what to send, for one service
    MASUK <kode>                                             end a sign-in lockout

Case, extra spaces and common slips are forgiven: a keyword or service code one letter off
(`DAFTR`, `STATSU`, `KK_BAR`), spaces or hyphens instead of the underscore (`KK-BARU`), dates as
31-12-2026, 31/12/2026 or 2026-12-31. The parser only reads; checking the values against the
catalogue and the NIK rules is the use case's work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.events.models.complaints import ComplaintCategory


class Keyword(StrEnum):
    DAFTAR = "DAFTAR"
    STATUS = "STATUS"
    BATAL = "BATAL"
    JANJI = "JANJI"
    ADUAN = "ADUAN"
    BANTUAN = "BANTUAN"
    MASUK = "MASUK"


COMPLAINT_WORDS: dict[str, ComplaintCategory] = {
    "PUNGLI": ComplaintCategory.ILLEGAL_FEE,
    "KASAR": ComplaintCategory.RUDENESS,
    "LAMBAT": ComplaintCategory.DELAY,
    "LAIN": ComplaintCategory.OTHER,
}
FIELD_SEPARATOR = "#"


@dataclass(frozen=True)
class Apply:
    service_code: str
    nik: str
    name: str
    answers: tuple[str, ...]
    """The service's own fields, in the catalogue's order."""


@dataclass(frozen=True)
class AskStatus:
    tracking_number: str
    nik_last4: str | None


@dataclass(frozen=True)
class Withdraw:
    tracking_number: str


@dataclass(frozen=True)
class Book:
    service_code: str
    day: date
    nik: str
    name: str


@dataclass(frozen=True)
class Complain:
    category: ComplaintCategory
    description: str


@dataclass(frozen=True)
class Help:
    service_code: str | None


@dataclass(frozen=True)
class ProvePhone:
    """A sign-in code sent back from the phone it was sent to."""

    code: str


Command = Apply | AskStatus | Withdraw | Book | Complain | Help | ProvePhone


class NotUnderstood(ValueError):
    """The message follows no command; the message says what was expected, in Indonesian."""


_SPACES = re.compile(r"\s+")
_DATE_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_DATE_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DIGITS = re.compile(r"^[0-9]{4}$")
_CODE = re.compile(r"^[0-9]{6}$")


def parse(text: str, service_codes: Iterable[str]) -> Command:
    """The command a message gives; raises NotUnderstood with a hint otherwise."""
    codes = tuple(service_codes)
    words = _SPACES.sub(" ", text.strip()).split(" ") if text.strip() else []
    if not words:
        raise NotUnderstood("Pesan kosong. Ketik BANTUAN untuk melihat cara mendaftar.")
    keyword = _closest(words[0].upper(), [keyword.value for keyword in Keyword])
    if keyword is None:
        raise NotUnderstood(
            f"Perintah {words[0][:20].upper()} tidak dikenal. Ketik BANTUAN untuk petunjuk."
        )
    rest = words[1:]
    match Keyword(keyword):
        case Keyword.DAFTAR:
            return _apply(rest, codes)
        case Keyword.STATUS:
            return _status(rest)
        case Keyword.BATAL:
            if len(rest) != 1:
                raise NotUnderstood("Format: BATAL <nomor lacak>, misalnya BATAL K7M2Q9XP.")
            return Withdraw(tracking_number=_tracking(rest[0]))
        case Keyword.JANJI:
            return _book(rest, codes)
        case Keyword.ADUAN:
            return _complain(rest)
        case Keyword.BANTUAN:
            return Help(service_code=service_code(rest[0], codes) if rest else None)
        case Keyword.MASUK:
            return _prove(rest)


def service_code(word: str, codes: Iterable[str]) -> str:
    """The catalogue code a citizen meant: any case, `-` or nothing for `_`, one slip allowed."""
    known = {code.replace("_", ""): code for code in codes}
    typed = re.sub(r"[-_.]", "", word.upper())
    if typed in known:
        return known[typed]
    closest = _closest(typed, list(known))
    if closest is None:
        raise NotUnderstood(
            f"Layanan {word[:20].upper()} tidak dikenal. Ketik BANTUAN untuk daftar layanan."
        )
    return known[closest]


def _apply(rest: list[str], codes: tuple[str, ...]) -> Apply:
    hint = "Format: DAFTAR <layanan> <NIK> <nama>#<isian>#... Ketik BANTUAN <layanan>."
    if len(rest) < 3:
        raise NotUnderstood(hint)
    code = service_code(rest[0], codes)
    name, *answers = " ".join(rest[2:]).split(FIELD_SEPARATOR)
    if not name.strip():
        raise NotUnderstood(hint)
    return Apply(
        service_code=code,
        nik=rest[1],
        name=name.strip(),
        answers=tuple(answer.strip() for answer in answers),
    )


def _status(rest: list[str]) -> AskStatus:
    if len(rest) not in (1, 2) or (len(rest) == 2 and not _DIGITS.fullmatch(rest[1])):
        raise NotUnderstood(
            "Format: STATUS <nomor lacak> <4 angka akhir NIK>, misalnya STATUS K7M2Q9XP 0001."
        )
    return AskStatus(tracking_number=_tracking(rest[0]), nik_last4=rest[1] if rest[1:] else None)


def _book(rest: list[str], codes: tuple[str, ...]) -> Book:
    hint = "Format: JANJI <layanan> <tanggal> <NIK> <nama>, misalnya JANJI KTP_REKAM 31-12-2026 ..."
    if len(rest) < 4:
        raise NotUnderstood(hint)
    return Book(
        service_code=service_code(rest[0], codes),
        day=parse_date(rest[1]),
        nik=rest[2],
        name=" ".join(rest[3:]),
    )


def _complain(rest: list[str]) -> Complain:
    words = ", ".join(COMPLAINT_WORDS)
    if len(rest) < 2:
        raise NotUnderstood(f"Format: ADUAN <{words}> <cerita singkat>.")
    category = _closest(rest[0].upper(), list(COMPLAINT_WORDS))
    if category is None:
        raise NotUnderstood(f"Jenis aduan harus salah satu dari: {words}.")
    return Complain(category=COMPLAINT_WORDS[category], description=" ".join(rest[1:]))


def _prove(rest: list[str]) -> ProvePhone:
    code = "".join(rest).replace("-", "")
    if not _CODE.fullmatch(code):
        raise NotUnderstood("Format: MASUK <kode 6 angka>, misalnya MASUK 123456.")
    return ProvePhone(code=code)


def parse_date(word: str) -> date:
    """31-12-2026, 31/12/2026, 31.12.2026 or 2026-12-31."""
    try:
        if match := _DATE_DMY.fullmatch(word):
            day, month, year = map(int, match.groups())
            return date(year, month, day)
        if match := _DATE_YMD.fullmatch(word):
            year, month, day = map(int, match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise NotUnderstood(f"Tanggal {word[:20]} tidak dikenali. Tulis seperti 31-12-2026.")


def _tracking(word: str) -> str:
    return word.replace("-", "").upper()


def _closest(word: str, choices: list[str]) -> str | None:
    """The one choice `word` is, or is one slip away from (a letter missing, extra, wrong or two
    swapped); none when no choice or several are that close."""
    if word in choices:
        return word
    near = [choice for choice in choices if len(choice) >= 4 and _one_slip(word, choice)]
    return near[0] if len(near) == 1 else None


def _one_slip(typed: str, meant: str) -> bool:
    if abs(len(typed) - len(meant)) > 1:
        return False
    if len(typed) == len(meant):
        diff = [i for i, (a, b) in enumerate(zip(typed, meant, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and typed[diff[0]] == meant[diff[1]]
            and typed[diff[1]] == meant[diff[0]]
        )
    shorter, longer = sorted((typed, meant), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
