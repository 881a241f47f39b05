"""What the integrity rules find: the rules by name, and one finding before it becomes an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Rule(StrEnum):
    QUEUE_JUMP = "QUEUE_JUMP"
    """A case claimed ahead of older ones without one of the accepted reasons. Processing hands
    out work oldest first (claim-next) and every step after verification needs a claim of its
    own, so a case finished ahead of older ones was claimed out of order at some stage: that
    claim (`out_of_order`, `reason_code`) is where the jump shows."""
    DEADLINE_BREACH = "DEADLINE_BREACH"
    """A case's deadline, or an official letter's disposition deadline, passed."""
    BREACH_PATTERN = "BREACH_PATTERN"
    """One officer held the cases or dispositions of several breaches in one month (WIB)."""
    SELF_DEALING = "SELF_DEALING"
    """An officer acted on a request for themselves or someone on their family card."""
    OFF_HOURS = "OFF_HOURS"
    """A staff action outside office time on the working calendar (WIB)."""
    BULK_READS = "BULK_READS"
    """An officer read many cases they never held (claimed, or were reassigned), in one WIB
    day; reading a case one held before is part of the work."""
    REPEATED_SEND_BACKS = "REPEATED_SEND_BACKS"
    """The same request sent back to the citizen again and again."""
    ILLEGAL_FEE = "ILLEGAL_FEE"
    """A citizen reported an illegal fee (pungli)."""


@dataclass(frozen=True)
class Finding:
    """What one entry showed: the alert to raise, before it is stored."""

    rule: Rule
    index: int
    """The entry that triggered it; with the rule, it names the alert."""
    occurred_at: datetime
    evidence: tuple[int, ...]
    """Indexes of the entries that show it, the triggering one included, in log order."""
    officers: tuple[str, ...]
    service_point: str | None
    about: str
    """The request, letter or complaint it is about (the entries' subject)."""
    summary: str
    """What happened, in Indonesian, for the auditor."""
    grown: bool = False
    """The alert was raised before by an earlier entry; this one adds to its evidence."""

    @property
    def alert_id(self) -> str:
        return alert_id(self.rule, self.index)


def alert_id(rule: Rule, index: int) -> str:
    return f"{rule.value.lower()}-{index}"
