"""When a case's deadline timers fire: warnings at half and four fifths of its working time, and
a breach at the deadline. Each fires once per deadline: a timer carries the deadline it was set
for, and one whose deadline moved (the citizen took time to fix something) fires nothing.

The same timers serve the dispositions of official letters (`letters/timers.py`): a
reminder before the deadline, one for a disposition left unread, the escalation at the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    """The minute a moment falls in, in UTC: timers are kept and fired by the minute."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class Mark(StrEnum):
    WARNING_50 = "WARNING_50"
    WARNING_80 = "WARNING_80"
    BREACH = "BREACH"
    DUE_SOON = "DUE_SOON"
    """A disposition's deadline nears: its holder is reminded."""
    UNREAD = "UNREAD"
    """A disposition lay unread for a working day: its holder is reminded."""
    ESCALATION = "ESCALATION"
    """A disposition's deadline passed: the one who disposed it is told."""

    @property
    def percent(self) -> int:
        return {Mark.WARNING_50: 50, Mark.WARNING_80: 80, Mark.BREACH: 100}[self]


CASE_MARKS = (Mark.WARNING_50, Mark.WARNING_80, Mark.BREACH)


class Fractions(Protocol):
    """Instants within office time (`WorkingCalendar`): a pure collaborator, not a port."""

    def at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime: ...


@dataclass(frozen=True)
class Timer:
    request_id: str
    """The case's request id, or the letter's id for a disposition's timer."""
    mark: Mark
    due_at: datetime
    fire_at: datetime
    disposition_id: str | None = None
    """Set for the timers of a letter's disposition."""

    @property
    def key(self) -> str:
        """What the case (or letter) records once the timer fired, so it never fires twice."""
        mark = f"{self.mark.value}@{self.due_at.isoformat()}"
        return mark if self.disposition_id is None else f"{self.disposition_id}:{mark}"


def timers(request_id: str, start: datetime, due_at: datetime, calendar: Fractions) -> list[Timer]:
    """The timers of a deadline: the warnings at their share of the office time, the breach at
    the deadline itself."""
    return [
        Timer(
            request_id=request_id,
            mark=mark,
            due_at=due_at,
            fire_at=due_at
            if mark is Mark.BREACH
            else calendar.at_fraction(start, due_at, mark.percent / 100),
        )
        for mark in CASE_MARKS
    ]
