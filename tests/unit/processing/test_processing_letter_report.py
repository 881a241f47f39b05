"""The letters section of the monthly evaluation: received, answered and on time, median times
to first reading and to follow-up, overdue at the month's end by unit and official, and its JSON,
CSV and HTML forms."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI

from services.processing.bootstrap import create_app
from services.processing.config import ProcessingSettings
from services.processing.entrypoints.report_api import ReportContext
from services.processing.letters.domain.agenda import register
from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.dispositions import DispositionOrder, Official
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from services.processing.letters.report import letter_section
from services.processing.letters.report_views import LETTER_CSV_COLUMNS
from shared.dependencies import provide
from shared.events.envelope import Actor, ActorKind, Channel
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.fakes import FakeClock, FlatCalendar
from tests.fakes_letters import FakeLetterRepository
from tests.unit.processing.test_processing_report import FakeReportStore

CALENDAR = FlatCalendar()
NOVEMBER = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 30, 16, 59, 59, 999999, tzinfo=UTC)
POLICY = LetterPolicy(
    reply_days={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1},
    instructions={"TINDAK_LANJUTI": "Tindak lanjuti"},
)
HEAD = Official("kadis", "KANTOR_DINAS")


def actor(ident: str) -> Actor:
    return Actor(kind=ActorKind.STAFF, id=ident, channel=Channel.API)


def letter(number: int, received: datetime) -> Letter:
    return register(
        IncomingLetter(
            sender="Bank BRI",
            reference_number=f"B.{number}/2026",
            letter_date=received.date(),
            regarding="Konfirmasi data nasabah",
            classification="470",
            urgency=Urgency.BIASA,
            confidentiality=Confidentiality.BIASA,
        ),
        actor=actor("clerk-1"),
        year=2026,
        agenda_number=number,
        service_point="KANTOR_DINAS",
        policy=POLICY,
        calendar=CALENDAR,
        now=received,
    )


def disposed(found: Letter, to: Official, at: datetime, due: timedelta) -> str:
    [made] = found.dispose(
        actor(HEAD.id),
        DispositionOrder(
            by=HEAD,
            to=[to],
            instruction="TINDAK_LANJUTI",
            note=None,
            due_at=at + due,
            parent_id=None,
        ),
        policy=POLICY,
        head_of_office=True,
        now=at,
    )
    return made.id


def november_letters() -> list[Letter]:
    kabid, kasi = Official("kabid", "KANTOR_DINAS"), Official("kasi", "KECAMATAN_SOOKO")
    answered_on_time = letter(1, NOVEMBER)
    first = disposed(answered_on_time, kabid, NOVEMBER, timedelta(days=2))
    answered_on_time.read(actor("kabid"), first, now=NOVEMBER + timedelta(hours=2))
    answered_on_time.follow_up(actor("kabid"), first, "ok", now=NOVEMBER + timedelta(hours=10))
    answered_on_time.answer(
        actor("clerk-1"),
        reply_number="R1",
        reply_date=date(2026, 11, 3),
        head_of_office=False,
        now=NOVEMBER + timedelta(days=1),
    )
    answered_late = letter(2, NOVEMBER)
    second = disposed(answered_late, kasi, NOVEMBER, timedelta(days=1))
    answered_late.read(actor("kasi"), second, now=NOVEMBER + timedelta(hours=6))
    answered_late.answer(
        actor("clerk-1"),
        reply_number="R2",
        reply_date=date(2026, 11, 20),
        head_of_office=False,
        now=NOVEMBER + timedelta(days=18),
    )
    left_unread = letter(3, NOVEMBER + timedelta(days=10))
    disposed(left_unread, kasi, NOVEMBER + timedelta(days=10), timedelta(days=2))
    due_next_month = letter(4, NOVEMBER + timedelta(days=27))
    disposed(due_next_month, kabid, NOVEMBER + timedelta(days=27), timedelta(days=3))
    from_october = letter(5, NOVEMBER - timedelta(days=5))
    return [answered_on_time, answered_late, left_unread, due_next_month, from_october]


def test_the_section_counts_the_months_letters_and_times_its_dispositions() -> None:
    section = letter_section(
        november_letters(), month="2026-11", as_of=MONTH_END, calendar=CALENDAR
    )

    assert (section.received, section.answered, section.answered_on_time) == (4, 2, 1)
    assert section.on_time_rate == 0.5
    assert section.median_to_first_reading_s == 4 * 3600
    assert section.median_to_follow_up_s == 10 * 3600
    assert section.overdue_at_month_end == 1
    [sooko, kantor] = section.by_unit
    assert (sooko.key, sooko.overdue_at_month_end, sooko.read) == ("KECAMATAN_SOOKO", 1, 1)
    assert (kantor.key, kantor.overdue_at_month_end, kantor.followed_up) == ("KANTOR_DINAS", 0, 1)
    assert [(f.key, f.overdue_at_month_end) for f in section.by_official] == [
        ("kasi", 1),
        ("kabid", 0),
    ]


def test_a_disposition_answered_before_the_moment_is_not_overdue_then() -> None:
    letters = november_letters()
    before_the_late_reply = NOVEMBER + timedelta(days=5)

    section = letter_section(
        letters, month="2026-11", as_of=before_the_late_reply, calendar=CALENDAR
    )

    assert section.overdue_at_month_end == 1
    assert [f.key for f in section.by_official if f.overdue_at_month_end] == ["kasi"]


async def test_the_report_serves_the_section_as_json_csv_and_html() -> None:
    repository = FakeLetterRepository()
    for found in november_letters():
        found.events.clear()
        assert await repository.add(found, outbox=[])

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            ReportContext(
                store=FakeReportStore(),
                calendar=CALENDAR,  # type: ignore[arg-type]
                clock=FakeClock(datetime(2026, 12, 5, tzinfo=UTC)),
                letters=repository,
            ),
        )
        yield {}

    app = create_app(ProcessingSettings(), wiring, staff_keys=STAFF_KEYS)
    url = "/v1/reports/monthly"
    headers = bearer("supervisor")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        as_json = await http.get(url, params={"month": "2026-11"}, headers=headers)
        as_csv = await http.get(
            url,
            params={"month": "2026-11", "format": "csv", "section": "letters"},
            headers=headers,
        )
        as_html = await http.get(
            url, params={"month": "2026-11", "format": "html"}, headers=headers
        )

    letters = as_json.json()["letters"]
    assert (letters["received"], letters["answered"], letters["overdue_at_month_end"]) == (4, 2, 1)
    assert letters["median_hours_to_first_reading"] == 4.0
    lines = list(csv.reader(io.StringIO(as_csv.text)))
    assert lines[0] == LETTER_CSV_COLUMNS
    assert lines[1][:6] == ["total", "ALL", "4", "2", "1", "0.5"]
    assert lines[-2][:2] == ["official", "kasi"]
    assert lines[-2][-1] == "1"
    assert as_csv.headers["content-disposition"].endswith('persuratan-2026-11.csv"')
    assert '<section id="letters">' in as_html.text
    assert "Disposisi terlambat di akhir bulan" in as_html.text
