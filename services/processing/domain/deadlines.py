"""When a case's deadline timers fire: warnings at half and four fifths of its working time, and
a breach at the deadline. Each fires once per deadline: a timer carries the deadline it was set
for, and one whose deadline moved (the citizen took time to fix something) fires nothing."""

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

    @property
    def percent(self) -> int:
        return {Mark.WARNING_50: 50, Mark.WARNING_80: 80, Mark.BREACH: 100}[self]


class Fractions(Protocol):
    def at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime: ...


@dataclass(frozen=True)
class Timer:
    request_id: str
    mark: Mark
    due_at: datetime
    fire_at: datetime

    @property
    def key(self) -> str:
        """What the case records once the timer fired, so that it never fires twice."""
        return f"{self.mark.value}@{self.due_at.isoformat()}"


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
        for mark in Mark
    ]
