"""What each request and case event adds to the monthly report's counters.

A case's progress (its dimensions, its state and since when, the office time it waited for the
citizen) turns each event into increments of counters per month, dimension and key: received,
completed, on time, rejected, cancelled, send-backs, time in each state, a histogram of working
time, and the cases opened and closed per opening day, from which the backlog and its ageing at
any moment follow (`report.build_report`). The working time of a case leaves out the time it
waited for the citizen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.processing.domain.case import Step
from services.processing.domain.case_opening import channel_of
from services.processing.domain.report import (
    CHANNEL,
    DISTRICT,
    OFFICER,
    SERVICE,
    OfficeTime,
    bucket_of,
    day_of,
    field_key,
    month_of,
)
from shared.events.envelope import ActorKind
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseCompleted,
    CaseEvent,
    CaseRejected,
    CaseVerified,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import RequestSubmitted


def district_of(nik: str) -> str:
    """The district of a NIK (`PPRRSS…`): regency and district, e.g. 3516.09."""
    return f"{nik[:4]}.{nik[4:6]}"


@dataclass(frozen=True)
class Progress:
    """What the report keeps of one case between its events."""

    service: str
    channel: str
    district: str
    opened_at: datetime
    state: str
    since: datetime
    waiting_s: float = 0.0
    """Office time spent waiting for the citizen (NEEDS_REVISION)."""
    sent_back: bool = False
    closed: bool = False

    def keys(self) -> dict[str, str]:
        return {SERVICE: self.service, CHANNEL: self.channel, DISTRICT: self.district}


CLOSED_STATES = frozenset({"COMPLETED", "REJECTED", "CANCELLED"})


@dataclass(frozen=True)
class Contribution:
    """Increments of one month's counters: dotted field paths and amounts."""

    month: str
    increments: dict[str, int]


def opening(*, service: str, channel: str, nik: str, submitted_at: datetime) -> Progress:
    """A request as the report first sees it: waiting since it was submitted."""
    return Progress(
        service=service,
        channel=channel,
        district=district_of(nik),
        opened_at=submitted_at,
        state="SUBMITTED",
        since=submitted_at,
    )


@dataclass(frozen=True)
class Trail:
    """A case as the report follows it: how it started, and its steps since (`Case.steps`).

    The case stores its steps with every change it makes, so the progress before any of its
    events follows from them without the report writing anything per case.
    """

    start: Progress
    steps: tuple[Step, ...]

    def before(self, event: CaseEvent, calendar: OfficeTime) -> Progress | None:
        """The case's progress just before `event`; None when its steps do not hold it."""
        progress = self.start
        for step in self.steps:
            if _is(step, event):
                return progress
            progress = _entered(progress, step.state, step.at, calendar)
        return None


def holds(steps: Iterable[Step], event: CaseEvent) -> bool:
    """Whether the event is among the steps."""
    return any(_is(step, event) for step in steps)


def _is(step: Step, event: CaseEvent) -> bool:
    """Whether the step is the event: same kind, same instant to the millisecond (what the
    engine keeps of a time)."""
    return step.kind == type(event).__name__ and _millis(step.at) == _millis(event.at)


def _millis(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def _entered(progress: Progress, state: str, at: datetime, calendar: OfficeTime) -> Progress:
    """The progress once the case is in `state` from `at` on (unchanged if it was already)."""
    if progress.closed or state == progress.state:
        return progress
    spent = calendar.working_time_between(progress.since, at).total_seconds()
    return replace(
        progress,
        state=state,
        since=at,
        waiting_s=progress.waiting_s + (spent if progress.state == "NEEDS_REVISION" else 0),
        sent_back=progress.sent_back or state == "NEEDS_REVISION",
        closed=state in CLOSED_STATES,
    )


def submitted(event: RequestSubmitted) -> tuple[Progress, Contribution]:
    """A new request: received in its month, and open since its day."""
    at = event.submitted_at
    progress = opening(
        service=event.service_code,
        channel=channel_of(event.actor),
        nik=event.applicant.nik,
        submitted_at=at,
    )
    increments: dict[str, int] = {}
    for dimension, key in progress.keys().items():
        row = _row(dimension, key)
        increments[f"{row}.received"] = 1
        increments[f"backlog.{dimension}.{field_key(key)}.opened.{day_of(at)}"] = 1
    return progress, Contribution(month_of(at), increments)


def stepped(
    progress: Progress, event: CaseEvent, calendar: OfficeTime
) -> tuple[Progress, Contribution | None]:
    """What a step of the case adds; None when it adds nothing (a claim at a later stage, a
    release, a read)."""
    if progress.closed:
        return progress, None
    at = event.at
    increments: dict[str, int] = {}
    case_rows = [_row(dimension, key) for dimension, key in progress.keys().items()]
    if event.state != progress.state:
        spent = calendar.working_time_between(progress.since, at).total_seconds()
        for row in case_rows:
            increments[f"{row}.state_s.{progress.state}"] = round(spent)
            increments[f"{row}.state_n.{progress.state}"] = 1
    progress = _entered(progress, event.state, at, calendar)
    case_fields, officer_fields = _counted(event)
    if isinstance(event, CaseCompleted | CaseRejected | CaseCancelled):
        if progress.sent_back:
            case_fields.append("sent_back_cases")
        case_fields.append("closed")
        for dimension, key in progress.keys().items():
            path = f"backlog.{dimension}.{field_key(key)}.closed.{day_of(progress.opened_at)}"
            increments[path] = 1
        progress = replace(progress, closed=True)
    if isinstance(event, CaseCompleted):
        worked = calendar.working_time_between(progress.opened_at, at).total_seconds()
        bucket = bucket_of(max(worked - progress.waiting_s, 0.0))
        case_fields.append(f"hist.{bucket}")
    for row in case_rows:
        for name in case_fields:
            increments[f"{row}.{name}"] = 1
    if officer_fields and event.actor.kind is ActorKind.STAFF:
        officer = _row(OFFICER, event.actor.id)
        for name in ["decisions", *officer_fields]:
            increments[f"{officer}.{name}"] = 1
    return progress, (Contribution(month_of(at), increments) if increments else None)


def _counted(event: CaseEvent) -> tuple[list[str], list[str]]:
    """The fields an event counts for its case's rows, and for the officer who took it."""
    if isinstance(event, CaseCompleted):
        on_time = ["on_time"] if event.on_time else []
        return ["completed", *on_time], ["completed", *on_time]
    if isinstance(event, RevisionRequested):
        return ["sent_back"], ["sent_back"]
    if isinstance(event, CaseRejected):
        return ["rejected"], ["rejected"]
    if isinstance(event, CaseCancelled):
        return ["cancelled"], []
    if isinstance(event, CaseVerified):
        return [], ["verified"]
    if isinstance(event, CaseApproved):
        return [], ["approved"]
    if isinstance(event, DocumentIssued):
        return [], ["issued"]
    return [], []


def _row(dimension: str, key: str) -> str:
    return f"rows.{dimension}.{field_key(key)}"
