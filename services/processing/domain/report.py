"""The monthly evaluation: its counters' names, months and histogram buckets, and the report
read from the counters.

Counters are kept per month, dimension and key (what each event adds is in `report_counting`);
the report sets each month's figures beside the same month a year before, and ages the backlog
from the cases opened and closed per opening day. Months are calendar months in Asia/Jakarta;
durations are office time on the working calendar.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from shared.calendar import JAKARTA

TOTAL, SERVICE, CHANNEL, DISTRICT, OFFICER = "total", "service", "channel", "district", "officer"
CASE_DIMENSIONS = (SERVICE, CHANNEL, DISTRICT)
"""Dimensions a case is counted in; an officer is the dimension of a step, not of a case. The
total is the sum of the services, so it is never a counter of its own (which every event would
write)."""
ALL = "ALL"

BUCKET_BOUNDS: tuple[float, ...] = tuple(60.0 * 2 ** (k / 2) for k in range(41))
"""Upper bounds (seconds) of the working-time histogram: one minute to about two years, each
bucket √2 wider than the one before; one more bucket holds anything longer."""


class OfficeTime(Protocol):
    """Office time between two instants (`WorkingCalendar`): a pure collaborator, not a port."""

    def working_time_between(self, start: datetime, end: datetime) -> timedelta: ...


class WorkingTime(OfficeTime, Protocol):
    """Office time and working days, for the backlog's ageing: a pure collaborator, not a port."""

    def is_working_day(self, day: date) -> bool: ...


def month_of(moment: datetime) -> str:
    """The Jakarta calendar month of an instant, as YYYY-MM."""
    return moment.astimezone(JAKARTA).strftime("%Y-%m")


def day_of(moment: datetime) -> str:
    return moment.astimezone(JAKARTA).date().isoformat()


def year_before(month: str) -> str:
    return f"{int(month[:4]) - 1:04d}{month[4:]}"


def months_back(month: str, count: int) -> str:
    """The month `count` months before `month`."""
    index = int(month[:4]) * 12 + int(month[5:]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def field_key(key: str) -> str:
    """A key usable as a document field name (no dots, no leading `$`), reversibly."""
    return key.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def key_of_field(name: str) -> str:
    return name.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def bucket_of(seconds: float) -> int:
    return bisect.bisect_left(BUCKET_BOUNDS, seconds)


def percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of the histogram's values in seconds, interpolated within its
    bucket; None when it is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count and seen + count >= rank:
            low = 0.0 if bucket == 0 else BUCKET_BOUNDS[bucket - 1]
            if bucket >= len(BUCKET_BOUNDS):
                return low
            return low + (BUCKET_BOUNDS[bucket] - low) * (rank - seen) / count
        seen += count
    return None


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


AGEING = ("0-1", "2-3", "4-5", "6-10", ">10")
"""Backlog age bands, in working days since the day a case was received."""


def age_band(working_days: int) -> str:
    for band, limit in zip(AGEING, (1, 3, 5, 10), strict=False):
        if working_days <= limit:
            return band
    return AGEING[-1]


def working_days_since(days: list[date], as_of: date, calendar: WorkingTime) -> dict[date, int]:
    """For each day, the working days after it up to `as_of` (inclusive)."""
    ages: dict[date, int] = {}
    count = 0
    current = as_of
    for day in sorted(days, reverse=True):
        while current > day:
            count += calendar.is_working_day(current)
            current -= timedelta(days=1)
        ages[day] = count
    return ages


Counters = dict[str, object]
"""A counter document's nested fields: dimension → key → field → count (or → bucket → count)."""


@dataclass(frozen=True)
class Comparison:
    """The same month a year before."""

    received: int
    completed: int
    on_time_rate: float | None
    median_working_s: float | None


@dataclass(frozen=True)
class Row:
    """One dimension's key in the month, each rate beside the counts it divides.

    For a case dimension, send-backs (each one, of any case) are set against the requests
    received in the month, and rejections against the cases closed in the month; for an
    officer, both are of the decisions they took."""

    dimension: str
    key: str
    received: int
    completed: int
    on_time: int
    rejected: int
    cancelled: int
    closed: int
    """Cases closed in the month: completed, rejected or cancelled."""
    sent_back: int
    """Send-backs in the month: a case sent back twice counts twice."""
    sent_back_cases: int
    """Of the cases closed in the month, those sent back at least once on their way."""
    decisions: int
    on_time_rate: float | None
    median_working_s: float | None
    p90_working_s: float | None
    send_back_rate: float | None
    rejection_rate: float | None
    state_mean_s: dict[str, float]
    backlog: int
    ageing: dict[str, int]
    previous: Comparison | None


@dataclass(frozen=True)
class MonthlyReport:
    month: str
    as_of: datetime
    backlog_since: str
    """Cases received before this month are left out of the backlog."""
    rows: list[Row]

    def rows_of(self, dimension: str) -> list[Row]:
        return [row for row in self.rows if row.dimension == dimension]


def merged(documents: Iterable[Mapping[str, object]]) -> dict[str, object]:
    """The sum of nested counter documents (shards of one month)."""
    total: dict[str, object] = {}
    for document in documents:
        _add_into(total, document)
    return total


def _add_into(target: dict[str, object], source: Mapping[str, object]) -> None:
    for name, value in source.items():
        if isinstance(value, Mapping):
            inner = target.setdefault(name, {})
            assert isinstance(inner, dict)
            _add_into(inner, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            current = target.get(name, 0)
            assert isinstance(current, int | float)
            target[name] = current + value


def build_report(
    *,
    month: str,
    as_of: datetime,
    rows: Mapping[str, object],
    previous: Mapping[str, object],
    backlog: Mapping[str, object],
    backlog_since: str,
    calendar: WorkingTime,
) -> MonthlyReport:
    """The month's report from its merged counters, the year-before month's, and the backlog
    counts per opening day of the months from `backlog_since` on."""
    rows = _with_total(rows)
    previous = _with_total(previous)
    backlog = _with_total(backlog)
    open_cases = _open_by_day(backlog, backlog_since, as_of)
    days = sorted({day for by_day in open_cases.values() for day in by_day})
    ages = working_days_since(days, as_of.astimezone(JAKARTA).date(), calendar)
    result: list[Row] = []
    for dimension in (TOTAL, *CASE_DIMENSIONS, OFFICER):
        current = _mapping(rows.get(dimension))
        earlier = _mapping(previous.get(dimension))
        keys = set(current)
        keys |= {key for (dim, key) in open_cases if dim == dimension}
        if dimension == TOTAL:
            keys.add(field_key(ALL))
        for key in sorted(keys):
            ageing = dict.fromkeys(AGEING, 0)
            for day, count in open_cases.get((dimension, key), {}).items():
                ageing[age_band(ages[day])] += count
            result.append(
                _make_row(
                    dimension,
                    key,
                    _mapping(current.get(key)),
                    _mapping(earlier.get(key)) if key in earlier else None,
                    ageing,
                )
            )
    return MonthlyReport(month=month, as_of=as_of, backlog_since=backlog_since, rows=result)


def _make_row(
    dimension: str,
    key: str,
    counts: Mapping[str, object],
    earlier: Mapping[str, object] | None,
    ageing: dict[str, int],
) -> Row:
    def count(name: str) -> int:
        value = counts.get(name, 0)
        return int(value) if isinstance(value, int | float) else 0

    histogram = {int(bucket): int(n) for bucket, n in _numbers(counts.get("hist")).items()}
    state_s, state_n = _numbers(counts.get("state_s")), _numbers(counts.get("state_n"))
    closed, decisions, sent_back = count("closed"), count("decisions"), count("sent_back")
    officer = dimension == OFFICER
    return Row(
        dimension=dimension,
        key=key_of_field(key),
        received=count("received"),
        completed=count("completed"),
        on_time=count("on_time"),
        rejected=count("rejected"),
        cancelled=count("cancelled"),
        closed=closed,
        sent_back=sent_back,
        sent_back_cases=count("sent_back_cases"),
        decisions=decisions,
        on_time_rate=rate(count("on_time"), count("completed")),
        median_working_s=percentile(histogram, 0.5),
        p90_working_s=percentile(histogram, 0.9),
        send_back_rate=rate(sent_back, decisions if officer else count("received")),
        rejection_rate=rate(count("rejected"), decisions if officer else closed),
        state_mean_s={
            state: state_s.get(state, 0) / visits for state, visits in state_n.items() if visits
        },
        backlog=sum(ageing.values()),
        ageing=ageing if not officer else {},
        previous=None if earlier is None else _comparison(earlier),
    )


def _comparison(counts: Mapping[str, object]) -> Comparison:
    numbers = _numbers(counts)
    histogram = {int(bucket): int(n) for bucket, n in _numbers(counts.get("hist")).items()}
    completed = int(numbers.get("completed", 0))
    return Comparison(
        received=int(numbers.get("received", 0)),
        completed=completed,
        on_time_rate=rate(int(numbers.get("on_time", 0)), completed),
        median_working_s=percentile(histogram, 0.5),
    )


def _open_by_day(
    backlog: Mapping[str, object], since: str, as_of: datetime
) -> dict[tuple[str, str], dict[date, int]]:
    """Cases still open at `as_of` per (dimension, key) and the day they were received."""
    last = as_of.astimezone(JAKARTA).date()
    result: dict[tuple[str, str], dict[date, int]] = {}
    for dimension, keys in _mapping(backlog).items():
        for key, counts in _mapping(keys).items():
            opened = _numbers(_mapping(counts).get("opened"))
            closed = _numbers(_mapping(counts).get("closed"))
            by_day: dict[date, int] = {}
            for name in opened.keys() | closed.keys():
                day = date.fromisoformat(name)
                remaining = int(opened.get(name, 0) - closed.get(name, 0))
                if name[:7] >= since and day <= last and remaining > 0:
                    by_day[day] = remaining
            if by_day:
                result[(dimension, key)] = by_day
    return result


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _numbers(value: object) -> dict[str, float]:
    return {
        name: float(number)
        for name, number in _mapping(value).items()
        if isinstance(number, int | float) and not isinstance(number, bool)
    }


def _with_total(counts: Mapping[str, object]) -> dict[str, object]:
    """The counters with the total row: the sum of the services' rows."""
    services = _mapping(counts.get(SERVICE))
    if not services:
        return dict(counts)
    return {**counts, TOTAL: {ALL: merged(_mapping(row) for row in services.values())}}
