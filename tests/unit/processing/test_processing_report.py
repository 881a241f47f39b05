"""The monthly report: increments per event, percentiles from buckets, rates, ageing, the
year-before comparison, exactly-once counting through redelivery and crashes, and its formats."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from services.processing.domain import report, report_counting
from services.processing.domain.case import Step
from services.processing.domain.case_opening import channel_of
from services.processing.domain.report import field_key, percentile
from services.processing.domain.report_counting import Trail
from services.processing.entrypoints.report_api import CSV_COLUMNS, to_csv
from services.processing.letters.report import LetterSection
from services.processing.service_layer.ports import Counted
from services.processing.service_layer.report import monthly_report, record_for_report
from services.processing.templates.monthly_report import ReportNames, render
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.cases import (
    CaseClaimed,
    CaseCompleted,
    CaseEvent,
    CaseRejected,
    CaseResubmitted,
    CaseStage,
    RevisionRequested,
)
from shared.events.models.requests import RequestSubmitted
from tests.builders import applicant

CALENDAR = WorkingCalendar()
MONDAY = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 08:00 WIB
VERIFIER = Actor(kind=ActorKind.STAFF, id="ver.ani", role="verifier", channel=Channel.API)
COUNTER = Actor(kind=ActorKind.STAFF, id="loket-1", role="counter_officer", channel=Channel.API)
NO_LETTERS = LetterSection(
    month="2026-11",
    as_of=datetime(2026, 12, 1, tzinfo=UTC),
    received=0,
    answered=0,
    answered_on_time=0,
    on_time_rate=None,
    median_to_first_reading_s=None,
    median_to_follow_up_s=None,
    overdue_at_month_end=0,
    by_unit=[],
    by_official=[],
)
"""The page's letters section for a month without letters."""


class FakeReportStore:
    """The read model in memory: a counter document per month, with the events it counted;
    `crash_after_counting` loses the answer to the next count, as a process that died right
    after the write would."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, object]] = {}
        self.fences: dict[str, set[str]] = {}
        self.crash_after_counting = False

    async def count(self, counted: Counted) -> None:
        fence = self.fences.setdefault(counted.month, set())
        if counted.event_id not in fence:
            document = self.documents.setdefault(counted.month, {"month": counted.month})
            for path, amount in counted.increments.items():
                *parents, name = path.split(".")
                node = document
                for part in parents:
                    child = node.setdefault(part, {})
                    assert isinstance(child, dict)
                    node = child
                current = node.get(name, 0)
                assert isinstance(current, int)
                node[name] = current + amount
            fence.add(counted.event_id)
        if self.crash_after_counting:
            self.crash_after_counting = False
            raise ConnectionError("the process died")

    async def counters(self, months: list[str]) -> dict[str, list[dict[str, object]]]:
        return {
            month: [doc for doc in self.documents.values() if doc["month"] == month]
            for month in months
        }

    async def backlog(self, first: str, last: str) -> list[dict[str, object]]:
        return [doc for doc in self.documents.values() if first <= str(doc["month"]) <= last]


class CaseSteps:
    """The cases' steps as the cases keep them: each event, once, before it is published."""

    def __init__(self) -> None:
        self.trails: dict[str, Trail] = {}

    def took(self, event: Event) -> None:
        if isinstance(event, RequestSubmitted):
            start, _ = report_counting.submitted(event)
            self.trails.setdefault(event.request_id, Trail(start=start, steps=()))
        elif isinstance(event, CaseEvent) and event.request_id in self.trails:
            trail = self.trails[event.request_id]
            if not report_counting.holds(trail.steps, event):
                step = Step(kind=type(event).__name__, state=event.state, at=event.at)
                self.trails[event.request_id] = Trail(trail.start, (*trail.steps, step))

    async def trail(self, event: CaseEvent) -> Trail | None:
        return self.trails.get(event.request_id)


def submitted(request_id: str, at: datetime, *, submitter: Actor = COUNTER) -> RequestSubmitted:
    return RequestSubmitted(
        actor=submitter,
        request_id=request_id,
        service_code="KK_BARU",
        tracking_number="K7M2Q9XP",
        applicant=applicant(),
        submitted_at=at,
        deadline_working_days=1,
        expected_at=at + timedelta(days=1),
    )


def completed(request_id: str, at: datetime, *, on_time: bool = True) -> CaseCompleted:
    return CaseCompleted(
        actor=COUNTER, request_id=request_id, state="COMPLETED", at=at, on_time=on_time
    )


def claimed(request_id: str, at: datetime) -> CaseClaimed:
    return CaseClaimed(
        actor=VERIFIER,
        request_id=request_id,
        state="IN_VERIFICATION",
        at=at,
        stage=CaseStage.VERIFICATION,
        out_of_order=False,
        reason_code=None,
    )


async def record(
    store: FakeReportStore, *events: tuple[str, Event], steps: CaseSteps | None = None
) -> None:
    steps = steps or CaseSteps()
    for event_id, event in events:
        steps.took(event)
        await record_for_report(
            event=event, event_id=event_id, trails=steps, store=store, calendar=CALENDAR
        )


async def november(store: FakeReportStore, now: datetime | None = None) -> report.MonthlyReport:
    return await monthly_report(
        month="2026-11", store=store, calendar=CALENDAR, now=now or MONDAY + timedelta(days=40)
    )


def row(result: report.MonthlyReport, dimension: str, key: str) -> report.Row:
    return next(r for r in result.rows if r.dimension == dimension and r.key == key)


def test_the_median_and_90th_percentile_are_read_from_the_buckets() -> None:
    values = [600.0 * n for n in range(1, 101)]  # 10 minutes to 1000 minutes
    histogram: dict[int, int] = {}
    for value in values:
        histogram[report.bucket_of(value)] = histogram.get(report.bucket_of(value), 0) + 1

    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)

    assert median is not None
    assert p90 is not None
    # Buckets are √2 wide, so the estimate is within that factor.
    assert 30_300 / 2**0.5 <= median <= 30_300 * 2**0.5
    assert 54_300 / 2**0.5 <= p90 <= 54_300 * 2**0.5
    assert percentile({}, 0.5) is None


def test_channels_and_districts_come_from_the_submitter_and_the_nik() -> None:
    operator = Actor(kind=ActorKind.OPERATOR, id="op", village="3516092001", channel=Channel.API)
    citizen = Actor(kind=ActorKind.CITIZEN, id="c", channel=Channel.WHATSAPP)

    assert channel_of(operator) == "VILLAGE_OPERATOR"
    assert channel_of(COUNTER) == "COUNTER"
    assert channel_of(citizen) == "WHATSAPP"
    assert report_counting.district_of("3516091204800001") == "3516.09"
    assert report.key_of_field(field_key("a.b$c%d")) == "a.b$c%d"


def test_ageing_counts_working_days_since_receipt() -> None:
    # Friday 2026-11-20 back to Monday 2026-11-02: 14 working days after it, none after Friday.
    ages = report.working_days_since(
        [date(2026, 11, 2), date(2026, 11, 19), date(2026, 11, 20)], date(2026, 11, 20), CALENDAR
    )

    assert ages == {date(2026, 11, 2): 14, date(2026, 11, 19): 1, date(2026, 11, 20): 0}
    assert [report.age_band(n) for n in (0, 1, 2, 5, 6, 11)] == [
        "0-1",
        "0-1",
        "2-3",
        "4-5",
        "6-10",
        ">10",
    ]


async def test_a_month_counts_received_completed_on_time_rates_and_working_time() -> None:
    store = FakeReportStore()
    await record(
        store,
        ("s1", submitted("r1", MONDAY)),
        ("c1", claimed("r1", MONDAY + timedelta(hours=1))),
        ("d1", completed("r1", MONDAY + timedelta(hours=3))),
        ("s2", submitted("r2", MONDAY)),
        ("c2", claimed("r2", MONDAY + timedelta(hours=1))),
        (
            "v2",
            RevisionRequested(
                actor=VERIFIER,
                request_id="r2",
                state="NEEDS_REVISION",
                at=MONDAY + timedelta(hours=2),
                items=["Foto KK"],
            ),
        ),
        (
            "b2",
            CaseResubmitted(
                actor=COUNTER,
                request_id="r2",
                state="IN_VERIFICATION",
                at=MONDAY + timedelta(days=1),
                due_at=MONDAY + timedelta(days=2),
            ),
        ),
        (
            "x2",
            CaseRejected(
                actor=VERIFIER,
                request_id="r2",
                state="REJECTED",
                at=MONDAY + timedelta(days=1, hours=1),
                reason="Dokumen palsu",
            ),
        ),
        ("s3", submitted("r3", MONDAY + timedelta(days=2))),
    )

    result = await november(store, now=MONDAY + timedelta(days=4))
    total = row(result, "total", "ALL")

    assert (total.received, total.completed, total.rejected) == (3, 1, 1)
    assert total.on_time_rate == 1.0
    assert (total.sent_back, total.closed, total.sent_back_cases) == (1, 2, 1)
    assert total.send_back_rate == 1 / 3  # one send-back per three requests received
    assert total.rejection_rate == 0.5  # one of the two closed cases
    assert total.median_working_s is not None
    assert 3 * 3600 / 2**0.5 <= total.median_working_s <= 3 * 3600
    assert total.state_mean_s["SUBMITTED"] == 3600
    # Sent back at 10:00 WIB Monday, resubmitted at 08:00 Tuesday: six office hours waiting.
    assert total.state_mean_s["NEEDS_REVISION"] == 6 * 3600
    assert total.backlog == 1
    assert total.ageing["0-1"] == 0
    assert total.ageing["2-3"] == 1
    officer = row(result, "officer", "ver.ani")
    assert (officer.decisions, officer.sent_back, officer.rejected) == (2, 1, 1)
    assert officer.send_back_rate == 0.5
    assert row(result, "service", "KK_BARU").received == 3
    assert row(result, "channel", "COUNTER").received == 3
    assert total.previous is None


async def test_a_redelivered_event_counts_once() -> None:
    store = FakeReportStore()
    events = [("s1", submitted("r1", MONDAY)), ("d1", completed("r1", MONDAY + timedelta(hours=2)))]

    await record(store, *events, *events, events[0])

    total = row(await november(store), "total", "ALL")
    assert (total.received, total.completed) == (1, 1)


async def test_an_event_delivered_again_after_a_crash_after_counting_counts_once() -> None:
    store, steps = FakeReportStore(), CaseSteps()
    await record(store, ("s1", submitted("r1", MONDAY)), steps=steps)
    store.crash_after_counting = True

    with pytest.raises(ConnectionError):
        await record(store, ("d1", completed("r1", MONDAY + timedelta(hours=2))), steps=steps)
    await record(store, ("d1", completed("r1", MONDAY + timedelta(hours=2))), steps=steps)

    total = row(await november(store), "total", "ALL")
    assert total.completed == 1
    assert total.backlog == 0


async def test_a_step_counts_from_the_progress_its_case_had_before_it() -> None:
    """The case's steps may run ahead of the event being counted (later steps were stored
    before it was consumed): the event counts from the steps before it."""
    steps = CaseSteps()
    claim = claimed("r1", MONDAY + timedelta(hours=1))
    done = completed("r1", MONDAY + timedelta(hours=3))
    for event in (submitted("r1", MONDAY), claim, done):
        steps.took(event)
    store = FakeReportStore()

    for event_id, event in (("s1", submitted("r1", MONDAY)), ("c1", claim), ("d1", done)):
        await record_for_report(
            event=event, event_id=event_id, trails=steps, store=store, calendar=CALENDAR
        )

    total = row(await november(store), "total", "ALL")
    assert total.state_mean_s == {"SUBMITTED": 3600.0, "IN_VERIFICATION": 2 * 3600.0}
    assert total.completed == 1


async def test_a_step_of_a_case_that_keeps_no_steps_is_not_counted() -> None:
    store = FakeReportStore()

    await record_for_report(
        event=completed("r1", MONDAY),
        event_id="d1",
        trails=CaseSteps(),
        store=store,
        calendar=CALENDAR,
    )

    assert store.documents == {}


async def test_the_same_month_a_year_before_is_compared_where_there_is_data() -> None:
    store = FakeReportStore()
    a_year_before = MONDAY - timedelta(days=364)
    await record(
        store,
        ("old-s", submitted("old", a_year_before)),
        ("old-d", completed("old", a_year_before + timedelta(hours=1), on_time=False)),
        ("s1", submitted("r1", MONDAY)),
    )

    result = await november(store)

    previous = row(result, "total", "ALL").previous
    assert previous is not None
    assert (previous.received, previous.completed, previous.on_time_rate) == (1, 1, 0.0)
    assert row(result, "service", "KK_BARU").previous is not None


async def test_the_csv_has_a_header_and_one_row_per_dimension_and_key() -> None:
    store = FakeReportStore()
    await record(store, ("s1", submitted("r1", MONDAY)))

    lines = list(csv.reader(io.StringIO(to_csv(await november(store), ReportNames()))))

    assert lines[0] == CSV_COLUMNS
    assert [(line[0], line[1]) for line in lines[1:]] == [
        ("total", "ALL"),
        ("service", "KK_BARU"),
        ("channel", "COUNTER"),
        ("district", "3516.09"),
    ]


async def test_the_page_is_in_indonesian_with_its_charts_and_figures() -> None:
    store = FakeReportStore()
    await record(
        store,
        ("s1", submitted("r1", MONDAY)),
        ("d1", completed("r1", MONDAY + timedelta(hours=2))),
    )

    page = render(await november(store), NO_LETTERS, names=ReportNames())

    assert '<html lang="id">' in page
    assert "Evaluasi Bulanan" in page
    assert "November 2026" in page
    for chart in ("chart-services", "chart-on-time", "chart-ageing", "chart-states"):
        assert f'id="{chart}"' in page
    assert 'id="figure-received">1<' in page
    assert "@page" in page
    assert "<script" not in page


def test_a_closed_case_adds_nothing_more() -> None:
    progress, _ = report_counting.submitted(submitted("r1", MONDAY))
    closed = dataclasses.replace(progress, closed=True)

    assert report_counting.stepped(closed, completed("r1", MONDAY), CALENDAR) == (closed, None)
