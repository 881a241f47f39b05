"""The monthly evaluation's use cases: count each request and case event once into the report's
read model, and read a month's report from it.

Counting an event takes writes that no transaction joins: the case's progress document records
the event, its new progress and the increments it causes (a pending item) in one write; then the
increments go to one counter document of the month, which records the event id in its fence in
the same write, so it refuses them a second time; then the pending item is removed. A crash
between the writes leaves the pending item behind, and the next delivery of any event of that
case adds it (the fence makes that exactly once) before anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.processing.domain import report
from services.processing.domain.report import (
    JAKARTA,
    MonthlyReport,
    OfficeTime,
    Progress,
    WorkingTime,
)
from shared.events.envelope import Event
from shared.events.models import CaseEvent, CaseReleased, CaseViewed, RequestSubmitted

BACKLOG_MONTHS = 12
"""How far back the backlog looks: cases received earlier than this are not counted in it."""


@dataclass(frozen=True)
class Pending:
    """Increments an event causes, recorded with the case's progress until they are counted."""

    event_id: str
    month: str
    increments: dict[str, int]


@dataclass(frozen=True)
class Tracked:
    """A case as the report keeps it: its progress, the events applied and not yet counted."""

    progress: Progress
    applied: frozenset[str]
    pending: tuple[Pending, ...]
    version: int


class ReportStore(Protocol):
    async def tracked(self, request_id: str) -> Tracked | None:
        """The case's progress, or None if the report never saw its request."""
        ...

    async def start(self, request_id: str, progress: Progress, *, pending: Pending) -> bool:
        """Stores a new case's progress with the event and its increments; False if it exists."""
        ...

    async def advance(
        self,
        request_id: str,
        progress: Progress,
        *,
        event_id: str,
        pending: Pending | None,
        version: int,
    ) -> bool:
        """Stores the progress, the event and its increments, if still at `version`."""
        ...

    async def count(self, request_id: str, pending: Pending) -> None:
        """Adds the increments to the month's counters unless done already, then forgets them."""
        ...

    async def counters(self, months: list[str]) -> dict[str, list[dict[str, object]]]:
        """The counter documents (rows only) of each month asked for."""
        ...

    async def backlog(self, first: str, last: str) -> list[dict[str, object]]:
        """The backlog parts of the counter documents of months `first` to `last`."""
        ...


IGNORED = (CaseReleased, CaseViewed)


async def record_for_report(
    *, event: Event, event_id: str, store: ReportStore, calendar: OfficeTime
) -> None:
    """Counts what a request or case event changes in the monthly report, exactly once."""
    if not isinstance(event, RequestSubmitted | CaseEvent) or isinstance(event, IGNORED):
        return
    request_id = event.request_id
    while True:
        tracked = await store.tracked(request_id)
        if tracked is not None:
            for left in tracked.pending:
                await store.count(request_id, left)
            if event_id in tracked.applied:
                return
        if isinstance(event, RequestSubmitted):
            if tracked is not None:
                return
            progress, contribution = report.submitted(event)
            pending = Pending(event_id, contribution.month, contribution.increments)
            if await store.start(request_id, progress, pending=pending):
                await store.count(request_id, pending)
                return
            continue
        if tracked is None:
            # Received before the report existed: it has no dimensions to count the step in.
            return
        progress, change = report.stepped(tracked.progress, event, calendar)
        if change is None and progress == tracked.progress:
            return
        step = None if change is None else Pending(event_id, change.month, change.increments)
        if await store.advance(
            request_id, progress, event_id=event_id, pending=step, version=tracked.version
        ):
            if step is not None:
                await store.count(request_id, step)
            return


async def monthly_report(
    *, month: str, store: ReportStore, calendar: WorkingTime, now: datetime
) -> MonthlyReport:
    """The month's figures, compared with the same month a year before; the backlog as at the
    month's end, or now for the current month."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=JAKARTA)
    following = (start + timedelta(days=32)).replace(day=1)
    as_of = min(now, following - timedelta(microseconds=1))
    earlier = report.year_before(month)
    documents = await store.counters([month, earlier])
    since = report.months_back(month, BACKLOG_MONTHS - 1)
    backlog = report.merged(await store.backlog(since, month))
    return report.build_report(
        month=month,
        as_of=as_of,
        rows=_rows(report.merged(documents.get(month, []))),
        previous=_rows(report.merged(documents.get(earlier, []))),
        backlog=_rows(backlog, "backlog"),
        backlog_since=since,
        calendar=calendar,
    )


def _rows(merged: dict[str, object], part: str = "rows") -> dict[str, object]:
    inner = merged.get(part)
    return inner if isinstance(inner, dict) else {}
