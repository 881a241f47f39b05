"""The monthly evaluation for the head of office and supervisors: JSON, CSV or an HTML page."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from services.processing.domain.report import AGEING, MonthlyReport, Row, WorkingTime
from services.processing.letters import service_layer as letters
from services.processing.letters.ports import LetterArchive
from services.processing.letters.report_views import LetterSectionView, letters_csv
from services.processing.service_layer import report
from services.processing.service_layer.ports import ReportStore
from services.processing.templates.monthly_report import ReportNames, render
from shared.clock import Clock
from shared.dependencies import provided
from shared.http.error_bodies import error_responses

STATES = ("SUBMITTED", "IN_VERIFICATION", "NEEDS_REVISION", "APPROVED", "ISSUED")


@dataclass(frozen=True)
class ReportContext:
    store: ReportStore
    calendar: WorkingTime
    clock: Clock
    letters: LetterArchive
    names: ReportNames = field(default_factory=ReportNames)


ReportContextDep = Annotated[
    ReportContext,
    Depends(provided(ReportContext, code="not_ready", message="Laporan belum dapat dibaca.")),
]


class ReportSection(StrEnum):
    CASES = "cases"
    LETTERS = "letters"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class ComparisonView(BaseModel):
    received: int
    completed: int
    on_time_rate: float | None
    median_working_hours: float | None


class RowView(BaseModel):
    """One key of one dimension, each rate beside the counts it divides; for an officer, rates
    are of the decisions they took."""

    dimension: str = Field(description="total, service, channel, district or officer.")
    key: str = Field(description="Service code, channel, district (PPRR.SS) or officer id.")
    label: str = Field(
        description="The key as the report names it: in Indonesian; a district's name from the "
        "districts file, an officer's from the staff directory (else the key)."
    )
    received: int = Field(description="Requests received in the month.")
    completed: int = Field(description="Cases completed in the month.")
    on_time: int = Field(description="Of those completed, completed by their deadline.")
    on_time_rate: float | None = Field(description="on_time of completed.")
    median_working_hours: float | None = Field(
        description="Office hours from receipt to completion, without waiting for the citizen."
    )
    p90_working_hours: float | None
    send_back_rate: float | None = Field(
        description="sent_back per request received in the month (officers: of decisions)."
    )
    rejection_rate: float | None = Field(description="rejected of closed (officers: of decisions).")
    rejected: int = Field(description="Cases rejected in the month.")
    cancelled: int = Field(description="Cases cancelled in the month.")
    closed: int = Field(description="Cases closed in the month: completed, rejected, cancelled.")
    sent_back: int = Field(description="Send-backs in the month; a case sent back twice counts 2.")
    sent_back_cases: int = Field(
        description="Of the cases closed in the month, those sent back at least once."
    )
    decisions: int = Field(description="An officer's verifications, send-backs, rejections, …")
    state_mean_hours: dict[str, float] = Field(
        description="Mean office hours a case stayed in each state it left this month."
    )
    backlog: int = Field(description="Cases still open at the report's time.")
    ageing: dict[str, int] = Field(description="Open cases by working days since receipt.")
    previous: ComparisonView | None = Field(description="The same month a year before.")

    @classmethod
    def of(cls, row: Row, names: ReportNames) -> RowView:
        previous = row.previous
        return cls(
            dimension=row.dimension,
            key=row.key,
            label=names.label(row.dimension, row.key),
            received=row.received,
            completed=row.completed,
            on_time=row.on_time,
            on_time_rate=row.on_time_rate,
            median_working_hours=_hours(row.median_working_s),
            p90_working_hours=_hours(row.p90_working_s),
            send_back_rate=row.send_back_rate,
            rejection_rate=row.rejection_rate,
            rejected=row.rejected,
            cancelled=row.cancelled,
            closed=row.closed,
            sent_back=row.sent_back,
            sent_back_cases=row.sent_back_cases,
            decisions=row.decisions,
            state_mean_hours={
                state: round(seconds / 3600, 2) for state, seconds in row.state_mean_s.items()
            },
            backlog=row.backlog,
            ageing=row.ageing,
            previous=None
            if previous is None
            else ComparisonView(
                received=previous.received,
                completed=previous.completed,
                on_time_rate=previous.on_time_rate,
                median_working_hours=_hours(previous.median_working_s),
            ),
        )


class MonthlyReportView(BaseModel):
    month: str = Field(description="YYYY-MM, a calendar month in Asia/Jakarta.")
    as_of: datetime = Field(description="The backlog's moment: the month's end, or now.")
    backlog_since: str = Field(description="The backlog counts cases received from this month.")
    rows: list[RowView]
    letters: LetterSectionView = Field(description="Official letters in the month.")


reports_router = APIRouter(prefix="/v1/reports", tags=["reports"])


@reports_router.get(
    "/monthly",
    response_model=MonthlyReportView,
    responses={
        200: {
            "description": "The report, in the format asked for.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        **error_responses(422, 503),
    },
)
async def monthly(
    context: ReportContextDep,
    month: Annotated[
        str,
        Query(pattern=r"^20\d\d-(0[1-9]|1[0-2])$", examples=["2026-11"], description="YYYY-MM"),
    ],
    format: Annotated[
        ReportFormat, Query(description="json, csv (one row per dimension and key) or html.")
    ] = ReportFormat.JSON,
    section: Annotated[
        ReportSection,
        Query(description="For csv: the cases' rows, or the letters' (their own columns)."),
    ] = ReportSection.CASES,
) -> Response:
    """The month's evaluation per service, channel, district and officer, beside the same month
    a year before, and the official letters of the month."""
    now = context.clock()
    result = await report.monthly_report(
        month=month, store=context.store, calendar=context.calendar, now=now
    )
    letter_section = await letters.letters_report(
        month=month, archive=context.letters, calendar=context.calendar, now=now
    )
    if format is ReportFormat.HTML:
        page = render(result, letter_section, names=context.names)
        return Response(page, media_type="text/html; charset=utf-8")
    if format is ReportFormat.CSV:
        if section is ReportSection.LETTERS:
            return Response(
                letters_csv(letter_section),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="persuratan-{month}.csv"'},
            )
        return Response(
            to_csv(result, context.names),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="evaluasi-{month}.csv"'},
        )
    view = MonthlyReportView(
        month=result.month,
        as_of=result.as_of,
        backlog_since=result.backlog_since,
        rows=[RowView.of(row, context.names) for row in result.rows],
        letters=LetterSectionView.of(letter_section),
    )
    return Response(view.model_dump_json(), media_type="application/json")


CSV_COLUMNS = [
    "dimension",
    "key",
    "label",
    "received",
    "completed",
    "on_time",
    "on_time_rate",
    "median_working_hours",
    "p90_working_hours",
    "send_back_rate",
    "rejection_rate",
    "rejected",
    "cancelled",
    "closed",
    "sent_back",
    "sent_back_cases",
    "decisions",
    "backlog",
    *(f"ageing_{band}" for band in AGEING),
    *(f"hours_in_{state.lower()}" for state in STATES),
    "previous_received",
    "previous_completed",
    "previous_on_time_rate",
    "previous_median_working_hours",
]


def to_csv(result: MonthlyReport, names: ReportNames) -> str:
    """A header row, then one row per dimension and key."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.rows:
        view = RowView.of(row, names)
        previous = view.previous
        writer.writerow(
            [
                view.dimension,
                view.key,
                view.label,
                view.received,
                view.completed,
                view.on_time,
                _cell(view.on_time_rate),
                _cell(view.median_working_hours),
                _cell(view.p90_working_hours),
                _cell(view.send_back_rate),
                _cell(view.rejection_rate),
                view.rejected,
                view.cancelled,
                view.closed,
                view.sent_back,
                view.sent_back_cases,
                view.decisions,
                view.backlog,
                *(view.ageing.get(band, "") for band in AGEING),
                *(_cell(view.state_mean_hours.get(state)) for state in STATES),
                "" if previous is None else previous.received,
                "" if previous is None else previous.completed,
                "" if previous is None else _cell(previous.on_time_rate),
                "" if previous is None else _cell(previous.median_working_hours),
            ]
        )
    return out.getvalue()


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
