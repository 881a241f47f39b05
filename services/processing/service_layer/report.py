"""The monthly evaluation's use cases: count each request and case event once into the report's
read model, and read a month's report from it.

What an event adds follows from the event and the case's progress before it. That progress is
not stored by the report: the case keeps its steps with every change it makes (`Case.steps`),
and the progress before any of its events follows from them (`report_counting.Trail`). Counting
an event is then one thing to do exactly once, and the store makes it so: it keeps the events it
counted by id with their increments, so one counted again adds nothing (a redelivery, a second
consumer).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.processing.domain import report, report_counting
from services.processing.domain.report import MonthlyReport, OfficeTime, WorkingTime
from services.processing.service_layer.ports import Counted, ReportStore, Trails
from shared.calendar import JAKARTA
from shared.events.envelope import Event
from shared.events.models.cases import CaseEvent, CaseReleased, CaseViewed
from shared.events.models.requests import RequestSubmitted

BACKLOG_MONTHS = 12
"""How far back the backlog looks: cases received earlier than this are not counted in it."""

IGNORED = (CaseReleased, CaseViewed)


async def record_for_report(
    *, event: Event, event_id: str, trails: Trails, store: ReportStore, calendar: OfficeTime
) -> None:
    """Counts what a request or case event changes in the monthly report, exactly once."""
    if isinstance(event, RequestSubmitted):
        _, contribution = report_counting.submitted(event)
        await store.count(Counted(event_id, contribution.month, contribution.increments))
        return
    if not isinstance(event, CaseEvent) or isinstance(event, IGNORED):
        return
    trail = await trails.trail(event)
    progress = None if trail is None else trail.before(event, calendar)
    if progress is None:
        # A case opened before cases kept their steps: nothing to count its step in.
        return
    _, change = report_counting.stepped(progress, event, calendar)
    if change is not None:
        await store.count(Counted(event_id, change.month, change.increments))


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
