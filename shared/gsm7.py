"""How much of an SMS a text takes: feature phones get GSM-7 text, 160 characters a segment.

A text with any character outside the GSM 03.38 alphabet goes as UCS-2, 70 characters a segment,
and costs the citizen's patience (and the office money) more than twice over.
"""

from __future__ import annotations

BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENDED = "^{}\\[~]|€\f"
"""Characters sent as an escape and one more septet: they count twice."""

SINGLE_SEGMENT = 160
MULTIPART_SEGMENT = 153


def is_gsm7(text: str) -> bool:
    return all(char in BASIC or char in EXTENDED for char in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets; raises ValueError for text that needs UCS-2."""
    if not is_gsm7(text):
        raise ValueError("text has characters outside the GSM-7 alphabet")
    return sum(2 if char in EXTENDED else 1 for char in text)


def segments(text: str) -> int:
    """How many SMS segments the text takes (GSM-7, or UCS-2 if it must)."""
    if is_gsm7(text):
        length, single, multi = septets(text), SINGLE_SEGMENT, MULTIPART_SEGMENT
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if length <= single else -(-length // multi)


def to_gsm7(text: str) -> str:
    """The text with the few common characters GSM-7 lacks replaced by near equals."""
    replacements = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-"}
    replaced = "".join(replacements.get(char, char) for char in text)
    return "".join(char if is_gsm7(char) else "?" for char in replaced)
