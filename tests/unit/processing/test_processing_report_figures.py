"""The monthly report says what each rate is a share of, beside its count, and names districts
and officers from the office's files (issue 20, item 7)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.processing.adapters.report_names_file import (
    DEFAULT_DISTRICTS,
    InvalidReportNames,
    load_districts,
    load_staff_names,
)
from services.processing.bootstrap import report_names
from services.processing.config import ProcessingSettings
from services.processing.domain.report import MonthlyReport
from services.processing.entrypoints.report_api import RowView, to_csv
from services.processing.templates.monthly_report import ReportNames, render
from shared.errors import InvalidConfiguration
from shared.events.envelope import Event
from shared.events.models.cases import CaseRejected, RevisionRequested
from tests.unit.processing.test_processing_report import (
    MONDAY,
    NO_LETTERS,
    VERIFIER,
    FakeReportStore,
    claimed,
    completed,
    november,
    record,
    row,
    submitted,
)

NOTIFY_SAMPLE = Path(__file__).resolve().parents[3] / "services/notify/staff_directory.json"
NAMES = ReportNames(
    districts={"35.16.09": "Dlanggu", "35.16.13": "Sooko"}, officers={"ver.ani": "Ani Rahayu"}
)


async def the_month_of_the_issue() -> MonthlyReport:
    """29 received; one completed, one rejected, four others sent back and still open."""
    events: list[tuple[str, Event]] = [
        (f"s{n}", submitted(f"r{n}", MONDAY + timedelta(minutes=n))) for n in range(29)
    ]
    events += [(f"c{n}", claimed(f"r{n}", MONDAY + timedelta(hours=1))) for n in range(6)]
    events.append(("d0", completed("r0", MONDAY + timedelta(hours=3))))
    events.append(
        (
            "x1",
            CaseRejected(
                actor=VERIFIER,
                request_id="r1",
                state="REJECTED",
                at=MONDAY + timedelta(hours=2),
                reason="Dokumen tidak sah",
            ),
        )
    )
    events += [
        (
            f"v{n}",
            RevisionRequested(
                actor=VERIFIER,
                request_id=f"r{n}",
                state="NEEDS_REVISION",
                at=MONDAY + timedelta(hours=2),
                items=["Foto KK"],
            ),
        )
        for n in range(2, 6)
    ]
    store = FakeReportStore()
    await record(store, *events)
    return await november(store, now=MONDAY + timedelta(days=1))


def card(page: str, key: str) -> tuple[str, str]:
    """A summary tile's figure and what it says it is a share of."""
    figure = re.search(f'id="figure-{key}">([^<]*)<', page)
    share = re.search(f'id="share-{key}">([^<]*)<', page)
    assert figure is not None, key
    assert share is not None, key
    return figure.group(1), share.group(1)


async def test_the_tiles_show_each_count_and_what_its_rate_is_a_share_of() -> None:
    result = await the_month_of_the_issue()
    total = row(result, "total", "ALL")

    page = render(result, NO_LETTERS, names=NAMES)

    assert (total.received, total.sent_back, total.completed, total.rejected) == (29, 4, 1, 1)
    assert card(page, "send-back") == ("4", "13,8% dari 29 permohonan diterima bulan ini")
    assert card(page, "rejection") == ("1", "50,0% dari 2 kasus ditutup bulan ini")
    assert card(page, "on-time") == ("1", "100,0% dari 1 permohonan selesai bulan ini")
    assert card(page, "received")[0] == "29"
    assert "2 kasus, 0 di antaranya pernah dikembalikan" in page


async def test_a_rate_with_nothing_to_divide_says_so() -> None:
    store = FakeReportStore()
    await record(store, ("s1", submitted("r1", MONDAY)))

    page = render(await november(store), NO_LETTERS, names=NAMES)

    assert card(page, "rejection") == ("0", "belum ada kasus ditutup bulan ini")
    assert card(page, "send-back") == ("0", "0,0% dari 1 permohonan diterima bulan ini")


async def test_the_tables_show_counts_beside_rates_and_the_json_the_denominators() -> None:
    result = await the_month_of_the_issue()

    page = render(result, NO_LETTERS, names=NAMES)
    view = RowView.of(row(result, "total", "ALL"), NAMES)

    assert "<td>4 (13,8%)</td>" in page
    assert "<th>Ditolak (% ditutup)</th>" in page
    assert (view.sent_back, view.received, view.rejected, view.closed) == (4, 29, 1, 2)
    assert view.sent_back_cases == 0
    assert view.send_back_rate == pytest.approx(4 / 29)
    assert view.rejection_rate == 0.5


async def test_officers_and_districts_are_named_from_the_offices_files() -> None:
    result = await the_month_of_the_issue()

    page = render(result, NO_LETTERS, names=NAMES)
    lines = list(csv.reader(io.StringIO(to_csv(result, NAMES))))
    labels = {(line[0], line[1]): line[2] for line in lines[1:]}

    assert labels[("officer", "ver.ani")] == "Ani Rahayu"
    assert labels[("district", "3516.09")] == "Dlanggu"
    assert "<td>Ani Rahayu</td>" in page
    assert "<td>Dlanggu</td>" in page
    assert "Kecamatan 09" not in page
    assert "ver.ani" not in page


def test_an_officer_or_district_the_files_lack_is_shown_by_its_subject_or_code() -> None:
    names = ReportNames()

    assert names.label("officer", "3f0c9a4e-uuid") == "3f0c9a4e-uuid"
    assert names.label("district", "3578.05") == "Kode wilayah 35.78.05"
    assert NAMES.label("district", "3516.19") == "Kode wilayah 35.16.19"


def test_the_packaged_districts_are_mojokertos_eighteen_kecamatan() -> None:
    districts = load_districts(DEFAULT_DISTRICTS)

    assert list(districts) == [f"35.16.{n:02d}" for n in range(1, 19)]
    assert districts["35.16.09"] == "Dlanggu"
    assert districts["35.16.13"] == "Sooko"
    assert districts["35.16.18"] == "Mojoanyar"


def test_the_staff_names_come_from_the_directory_notify_reads() -> None:
    names = load_staff_names(NOTIFY_SAMPLE)

    assert names["verifier-test"] == "Dewi Lestari"
    assert all(isinstance(name, str) and "@" not in name for name in names.values())


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ({"regency": {"code": "35.16", "name": "X"}, "districts": {"3516.01": "A"}}, "districts"),
        ({"regency": {"code": "35.16", "name": "X"}, "districts": {"35.17.01": "A"}}, "35.17.01"),
        ({"regency": {"code": "35.16", "name": "X"}, "districts": {}}, "none"),
        ({"regency": {"code": "35.16", "name": "X"}, "districts": {"35.16.01": ""}}, "35.16.01"),
    ],
)
def test_a_broken_districts_file_is_refused_naming_the_fault(
    tmp_path: Path, content: object, fault: str
) -> None:
    path = tmp_path / "districts.json"
    path.write_text(json.dumps(content))

    with pytest.raises(InvalidReportNames, match=re.escape(fault)) as refused:
        load_districts(path)

    assert str(path) in str(refused.value)


def test_a_broken_staff_directory_is_refused_without_its_values(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    path.write_text(json.dumps({"staff": {"verifier-1": {"name": " ", "email": "x@y.example"}}}))

    with pytest.raises(InvalidReportNames, match=r"staff\.verifier-1\.name") as refused:
        load_staff_names(path)

    assert "x@y.example" not in str(refused.value)


def test_processing_checks_both_files_at_start(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    settings = ProcessingSettings(staff_directory=NOTIFY_SAMPLE)

    names = report_names(settings)

    assert names.officers["signer-test"] == "Drs. Bambang Wijaya"
    assert names.districts["35.16.01"] == "Jatirejo"
    assert report_names(ProcessingSettings()).officers == {}
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        report_names(ProcessingSettings(districts_file=missing))
    with pytest.raises(InvalidConfiguration, match="cannot read"):
        report_names(ProcessingSettings(staff_directory=missing))
