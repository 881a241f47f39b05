"""Free text a citizen types, such as a name: one Unicode form, nothing that hides or reorders it.

Control characters (NUL, BEL, the ESC of terminal colour codes), bidirectional controls (U+202E
shows what follows right to left) and other invisible format characters (zero-width spaces and
joiners) would reach officers' screens and the messages sent to citizens, where they garble,
disguise or spoof what is shown. They are refused rather than dropped, so what is stored is what
the citizen sees they typed. In longer text tabs and line breaks are whitespace like any other:
every run of whitespace becomes one space. A name is one line: a tab or line break in it is refused
too, since it would split the name on a form, a letter or an SMS.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from shared.errors import Kind, Refusal

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Marks, embeddings, overrides and isolates that change the order text is shown in."""
WHITESPACE_CONTROLS = frozenset("\t\n\v\f\r")
LINE_BREAKS = WHITESPACE_CONTROLS | frozenset("\u2028\u2029")
"""What ends or splits a line, refused in one-line text such as a name."""

_CONTROL = "Cc"
_FORMAT = "Cf"
_SURROGATE = "Cs"
_BMP_END = 0x10000


class InvalidText(Refusal, ValueError):
    """Raised with a reason in plain Indonesian; a ValueError too, so that pydantic validators
    report it as the field's error."""

    def __init__(self, message: str) -> None:
        super().__init__("invalid_request", message, Kind.INVALID)


def refusal(character: str, *, one_line: bool = False) -> str | None:
    """Why the character may not appear in free text (in `one_line` text), or None if it may."""
    code = f"U+{ord(character):04X}"
    category = unicodedata.category(character)
    if one_line and character in LINE_BREAKS:
        return f"Tidak boleh berisi tab atau baris baru ({code}); tulis dalam satu baris."
    if category == _CONTROL and character not in WHITESPACE_CONTROLS:
        return (
            f"Tidak boleh berisi karakter kontrol ({code}), "
            "misalnya NUL, bel atau kode warna terminal."
        )
    if character in BIDI_CONTROLS:
        return f"Tidak boleh berisi karakter pengatur arah teks ({code})."
    if category == _FORMAT:
        return f"Tidak boleh berisi karakter tak terlihat ({code}), misalnya spasi lebar nol."
    if category == _SURROGATE:
        return f"Tidak boleh berisi karakter yang tidak sah ({code})."
    return None


def clean_text(value: str, *, one_line: bool = False) -> str:
    """The text in Unicode NFC, each run of whitespace made one space; or says what is refused."""
    for character in value:
        if reason := refusal(character, one_line=one_line):
            raise InvalidText(reason)
    return " ".join(unicodedata.normalize("NFC", value).split())


def normalize_name(value: str) -> str:
    """A person's name as stored and shown: one line, cleaned like any free text, not empty."""
    name = clean_text(value, one_line=True)
    if not name:
        raise InvalidText("Nama wajib diisi.")
    return name


@cache
def name_pattern() -> str:
    """The JSON Schema pattern of the names `normalize_name` accepts.

    It names the refused characters of the Basic Multilingual Plane; the few refused beyond it
    (e.g. the invisible tag characters U+E0001 to U+E007F) are left to the server, since no escape
    for them reads the same in every regular expression dialect.
    """
    refused = [
        code
        for code in range(_BMP_END)
        if refusal(chr(code), one_line=True) and unicodedata.category(chr(code)) != _SURROGATE
    ]
    spaces = [code for code in range(_BMP_END) if chr(code).isspace() and code not in refused]
    allowed = f"[^{_character_class(refused)}]"
    visible = f"[^{_character_class(refused + spaces)}]"
    return f"^{allowed}*{visible}{allowed}*$"


def _character_class(codes: list[int]) -> str:
    """Code points as `\\uXXXX` ranges, which ECMAScript, Python and Rust regexes all read."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(
        f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"
        for first, last in ranges
    )
