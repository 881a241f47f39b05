"""Quiet hours: a message that can wait does not wake a citizen at night."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from shared.calendar import JAKARTA


@dataclass(frozen=True)
class QuietHours:
    """From `start` to `end`, Jakarta time (across midnight when `start` is later than `end`),
    citizens get only the messages they are waiting for at that moment."""

    start: time = time(21, 0)
    end: time = time(6, 0)

    def holds(self, moment: datetime) -> bool:
        clock = moment.astimezone(JAKARTA).time()
        if self.start > self.end:
            return clock >= self.start or clock < self.end
        return self.start <= clock < self.end

    def release(self, moment: datetime) -> datetime:
        """`moment` itself outside quiet hours, else the end of the quiet hours it falls in."""
        if not self.holds(moment):
            return moment
        local = moment.astimezone(JAKARTA)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=JAKARTA).astimezone(UTC)
