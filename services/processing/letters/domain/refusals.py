"""How a letter refuses a step: what was sent for it (invalid), the state of the letter or its
chain (conflict), or who asks (forbidden)."""

from __future__ import annotations

from shared.errors import Kind, Refusal

OF_WHAT_WAS_SENT = frozenset(
    {
        "unknown_instruction",
        "no_recipient",
        "self_disposition",
        "deadline_too_late",
        "deadline_passed",
        "note_required",
        "reason_required",
        "reply_number_required",
    }
)
"""Refusals of what was sent (invalid), rather than of the letter's state (conflict)."""


class LetterRefused(Refusal):
    """A step the letter's state or chain does not allow, or what was sent for it; the message
    says why, in Indonesian."""

    def __init__(self, code: str, message: str, kind: Kind | None = None) -> None:
        if kind is None:
            kind = Kind.INVALID if code in OF_WHAT_WAS_SENT else Kind.CONFLICT
        super().__init__(code, message, kind)


class NoScan(Refusal):
    """The letter was registered, but no scan of it was attached yet."""

    def __init__(self) -> None:
        super().__init__("no_scan", "Surat ini belum memiliki pindaian.", Kind.NOT_FOUND)


class LetterForbidden(LetterRefused):
    """The caller may not take this step or read this letter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.FORBIDDEN)
