from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.text import (
    BIDI_CONTROLS,
    InvalidText,
    clean_text,
    name_pattern,
    normalize_name,
)

CONTROL = "karakter kontrol"
BIDI = "pengatur arah teks"
INVISIBLE = "karakter tak terlihat"


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("Siti\u0000", CONTROL, "U+0000"),
        ("Siti\u0007\u001b[31mRed", CONTROL, "U+0007"),
        ("Siti \u001b[31mRed", CONTROL, "U+001B"),
        ("Siti\u007f", CONTROL, "U+007F"),
        ("Siti\u009b31m", CONTROL, "U+009B"),
        ("Siti\u0085Aminah", CONTROL, "U+0085"),
        ("Siti\u001fAminah", CONTROL, "U+001F"),
        ("Siti \u202eanimA", BIDI, "U+202E"),
        ("\u202dSiti", BIDI, "U+202D"),
        ("Siti \u2066Aminah\u2069", BIDI, "U+2066"),
        ("Siti\u200fAminah", BIDI, "U+200F"),
        ("Siti\u061cAminah", BIDI, "U+061C"),
        ("Si\u200bti", INVISIBLE, "U+200B"),
        ("Si\u200cti", INVISIBLE, "U+200C"),
        ("Si\u200dti", INVISIBLE, "U+200D"),
        ("Si\u2060ti", INVISIBLE, "U+2060"),
        ("\ufeffSiti", INVISIBLE, "U+FEFF"),
        ("Si\u00adti", INVISIBLE, "U+00AD"),
        ("Siti\U000e0041\U000e0042", INVISIBLE, "U+E0041"),
    ],
    ids=lambda value: value.encode("unicode_escape").decode() if isinstance(value, str) else "",
)
def test_hidden_characters_are_refused_with_their_kind_and_code_point(
    text: str, kind: str, code: str
) -> None:
    with pytest.raises(InvalidText) as refused:
        clean_text(text)

    assert kind in str(refused.value)
    assert code in str(refused.value)
    assert str(refused.value).startswith("Tidak boleh berisi")


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidText, match="tidak sah"):
        clean_text("Siti\ud800")


def test_every_bidi_control_is_a_format_character() -> None:
    assert {unicodedata.category(character) for character in BIDI_CONTROLS} == {"Cf"}


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("Siti Aminah", "Siti Aminah"),
        ("  Siti \t Aminah\r\n", "Siti Aminah"),
        ("Siti\u00a0Aminah\u3000binti\u2028Ahmad", "Siti Aminah binti Ahmad"),
        ("Rene\u0301", "Ren\u00e9"),
        ("Nguye\u0302\u0303n", "Nguy\u1ec5n"),
        (
            "Dr. H. Ahmad, S.H. (Pak Ahmad) O'Neil-Putra",
            "Dr. H. Ahmad, S.H. (Pak Ahmad) O'Neil-Putra",
        ),
        ("\u738b\u5c0f\u660e", "\u738b\u5c0f\u660e"),
    ],
)
def test_text_is_stored_in_nfc_with_single_spaces(text: str, cleaned: str) -> None:
    assert clean_text(text) == cleaned
    assert unicodedata.is_normalized("NFC", clean_text(text))


@pytest.mark.parametrize("name", ["", " ", "\u3000\u00a0"])
def test_a_name_without_a_visible_character_is_refused(name: str) -> None:
    with pytest.raises(InvalidText, match="Nama wajib diisi"):
        normalize_name(name)


def test_a_name_is_cleaned() -> None:
    assert normalize_name(" Siti  Aminah ") == "Siti Aminah"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Siti\nAminah", "U+000A"),
        ("Siti\tAminah", "U+0009"),
        ("Siti Aminah\r", "U+000D"),
        ("Siti\u2028Aminah", "U+2028"),
        ("\t\n", "U+0009"),
    ],
)
def test_a_name_is_one_line(name: str, code: str) -> None:
    """A line break would split the name on a form, a letter or an SMS."""
    with pytest.raises(InvalidText, match="satu baris") as refused:
        normalize_name(name)

    assert code in str(refused.value)
    assert re.fullmatch(name_pattern(), name) is None


def accepted(name: str) -> bool:
    try:
        normalize_name(name)
    except InvalidText:
        return False
    return True


NAME_PATTERN = re.compile(name_pattern())
REFUSED_SAMPLES = "\u0000\u0007\u001b\u001f\u007f\u0085\u00ad\u061c\u200b\u200d\u202e\u2066\ufeff"
SPACES = " \t\n\r\u00a0\u2028\u3000"
BMP_TEXT = st.text(
    st.one_of(
        st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]),
        st.sampled_from(REFUSED_SAMPLES + SPACES),
    ),
    max_size=12,
)


@settings(max_examples=400, derandomize=True)
@given(BMP_TEXT)
def test_the_name_pattern_accepts_exactly_the_names_the_server_accepts(name: str) -> None:
    assert (NAME_PATTERN.fullmatch(name) is not None) is accepted(name)


def test_the_name_pattern_spells_code_points_portably() -> None:
    pattern = name_pattern()

    assert pattern.isascii()
    assert "\\s" not in pattern
    assert "\\u202e" in pattern
