"""The office's working-day calendar, from which case deadlines and their warnings are computed.

Instants are stored in UTC; the office works in Asia/Jakarta (WIB). A working day is an open weekday
that is neither an Indonesian public holiday (from the `holidays` package) nor a configured
collective-leave day (cuti bersama). Office time is the half-open span [opening, closing) of each
working day: an instant at closing time is already outside it, though a deadline may fall exactly
at closing time ("by close of business"). Arithmetic is done on UTC instants, in whole
microseconds, so results are exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

JAKARTA = ZoneInfo("Asia/Jakarta")

DEFAULT_OFFICE_HOURS: Mapping[int, tuple[time, time]] = MappingProxyType(
    {
        0: (time(8), time(16)),
        1: (time(8), time(16)),
        2: (time(8), time(16)),
        3: (time(8), time(16)),
        4: (time(8), time(16, 30)),
    }
)

_COUNTRY = "ID"
# Joint holidays ("government") are collective leave, which the office configures itself.
_CATEGORIES = ("public",)
_ONE_DAY = timedelta(days=1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_NO_TIME = timedelta(0)


class WorkingCalendar:
    """Working days and office hours, so that no deadline comes earlier than the rules allow."""

    def __init__(
        self,
        *,
        collective_leave: Iterable[date] = (),
        office_hours: Mapping[int, tuple[time, time]] | None = None,
    ) -> None:
        hours = DEFAULT_OFFICE_HOURS if office_hours is None else office_hours
        self._office_hours = MappingProxyType(_checked_hours(hours))
        self._collective_leave = frozenset(_checked_leave(collective_leave))
        self._holidays_by_year: dict[int, frozenset[date]] = {}

    def is_working_day(self, day: date) -> bool:
        """Whether the office is open on `day`: an open weekday, no public holiday, no leave."""
        if isinstance(day, datetime):
            raise ValueError(f"is_working_day takes a date, not a datetime: {day!r}")
        return (
            day.weekday() in self._office_hours
            and day not in self._collective_leave
            and day not in self._public_holidays(day.year)
        )

    def due_at(self, start: datetime, working_days: int) -> datetime:
        """The deadline of a service of `working_days` working days submitted at `start`.

        The same clock time `working_days` working days after `start` moved into office time,
        kept within that day's office hours.
        """
        if working_days < 1:
            raise ValueError(f"working_days must be at least 1, got {working_days}")
        begin = self._into_office_time(start)
        clock = begin.astimezone(JAKARTA).time()
        day = begin.astimezone(JAKARTA).date()
        for _ in range(working_days):
            day = self._next_working_day(day)
        opening, closing = self._hours(day)
        return min(max(_instant(day, clock), opening), closing)

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time elapsed from `a` to `b`; zero when `b` is not after `a`."""
        a, b = _utc(a), _utc(b)
        if b <= a:
            return _NO_TIME
        elapsed = _NO_TIME
        day, last = _local_date(a), _local_date(b)
        while day <= last:
            if self.is_working_day(day):
                opening, closing = self._hours(day)
                elapsed += max(min(b, closing) - max(a, opening), _NO_TIME)
            day += _ONE_DAY
        return elapsed

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The first instant in office time at which `duration` of office time has elapsed.

        Resuming a paused case uses it: the office time left before the deadline is added to the
        moment the case resumes. Time that runs out exactly at a closing gives the next opening,
        the same office time but never earlier on the clock, so nothing falls due after hours.
        """
        if duration < _NO_TIME:
            raise ValueError(f"duration must not be negative, got {duration}")
        current = self._into_office_time(start)
        day = _local_date(current)
        remaining = duration
        while True:
            closing = self._hours(day)[1]
            if remaining < closing - current:
                return current + remaining
            remaining -= closing - current
            day = self._next_working_day(day)
            current = self._hours(day)[0]

    def fraction_elapsed(self, start: datetime, due: datetime, now: datetime) -> float:
        """The share of the window's office time elapsed at `now`, in [0, 1], for warnings."""
        total = self._window(start, due)
        if total == _NO_TIME:
            return 1.0 if _utc(now) >= _utc(due) else 0.0
        elapsed = self.working_time_between(start, min(_utc(now), _utc(due)))
        return min(max(elapsed / total, 0.0), 1.0)

    def at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime:
        """The instant `fraction` of the window's office time has elapsed, to schedule a timer.

        The first instant in office time (to the microsecond) at which `fraction_elapsed` reaches
        `fraction`, so a timer set for it never fires before its warning is due; never after `due`.
        """
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
        total = self._window(start, due) // _ONE_MICROSECOND
        target = math.ceil(total * Fraction(fraction))
        # fraction_elapsed divides in floating point, which may reach `fraction` a microsecond
        # before the exact quotient does.
        while target > 0 and (target - 1) / total >= fraction:
            target -= 1
        reached = self.add_working_time(start, target * _ONE_MICROSECOND)
        # A window without office time is over as soon as it is due.
        return min(reached, _utc(due))

    def _window(self, start: datetime, due: datetime) -> timedelta:
        """The office time of a deadline window, refusing one that ends before it starts."""
        if _utc(due) < _utc(start):
            raise ValueError(f"due ({due.isoformat()}) is before start ({start.isoformat()})")
        return self.working_time_between(start, due)

    def _public_holidays(self, year: int) -> frozenset[date]:
        """Indonesia's public holidays of `year`, built on first use and kept."""
        cached = self._holidays_by_year.get(year)
        if cached is None:
            source = holidays.country_holidays(_COUNTRY, years=year, categories=_CATEGORIES)
            if not source.start_year <= year <= source.end_year:
                raise ValueError(
                    f"no Indonesian holiday data for {year}: the holidays package covers "
                    f"{source.start_year} to {source.end_year}"
                )
            cached = frozenset(source)
            self._holidays_by_year[year] = cached
        return cached

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        """The opening and closing instants (UTC) of an open weekday."""
        opening, closing = self._office_hours[day.weekday()]
        return _instant(day, opening), _instant(day, closing)

    def _next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def _into_office_time(self, moment: datetime) -> datetime:
        """`moment` if the office is open then, else the next opening."""
        moment = _utc(moment)
        day = _local_date(moment)
        if self.is_working_day(day):
            opening, closing = self._hours(day)
            if moment < opening:
                return opening
            if moment < closing:
                return moment
        return self._hours(self._next_working_day(day))[0]


def _checked_hours(hours: Mapping[int, tuple[time, time]]) -> dict[int, tuple[time, time]]:
    """Office hours as given, or ValueError naming what is wrong with them."""
    checked: dict[int, tuple[time, time]] = {}
    for weekday, (opening, closing) in hours.items():
        if weekday not in range(7):
            raise ValueError(
                f"office hours weekday must be 0 (Monday) to 6 (Sunday), got {weekday}"
            )
        if opening.tzinfo is not None or closing.tzinfo is not None:
            raise ValueError(f"office hours are Jakarta clock times without a time zone: {weekday}")
        if closing <= opening:
            raise ValueError(
                f"office hours for weekday {weekday} close ({closing}) before they open ({opening})"
            )
        checked[weekday] = (opening, closing)
    if not checked:
        raise ValueError("office hours must open on at least one weekday")
    return checked


def _checked_leave(days: Iterable[date]) -> Iterable[date]:
    """Collective-leave days, refusing datetimes, whose day would depend on a time zone."""
    for day in days:
        if isinstance(day, datetime):
            raise ValueError(f"collective leave takes dates, not datetimes: {day!r}")
        yield day


def _utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is refused, as its instant is unknown."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _local_date(moment: datetime) -> date:
    """The Jakarta calendar day of an instant."""
    return moment.astimezone(JAKARTA).date()


def _instant(day: date, clock: time) -> datetime:
    """The UTC instant of a Jakarta clock time on `day`."""
    return datetime.combine(day, clock, tzinfo=JAKARTA).astimezone(UTC)
