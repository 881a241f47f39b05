"""What the office configures for its letters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Urgency(StrEnum):
    BIASA = "biasa"
    SEGERA = "segera"
    SANGAT_SEGERA = "sangat_segera"


@dataclass(frozen=True)
class LetterPolicy:
    """What the office configures: reply deadlines by urgency, in working days, and the
    instructions a disposition may carry."""

    reply_days: Mapping[Urgency, int]
    instructions: Mapping[str, str]
    """Instruction code → its wording, e.g. `TINDAK_LANJUTI` → "Tindak lanjuti"."""
    reminder_fraction: float = 0.8
    """Share of a disposition's working time after which its holder is reminded."""
