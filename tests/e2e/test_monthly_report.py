"""The monthly report of the running services, after officers worked cases through the console:
as JSON and CSV, and as the HTML page rendered, captured as a screenshot and printed by a real
headless Chromium, its tiles showing each count and what its rate is a share of."""

from __future__ import annotations

import csv
import io
import re
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack import chromium
from devstack.stack import Stack
from services.processing.domain.report import month_of
from tests.e2e.test_case_work import Office, Tokens
from tests.polling import eventually


async def work_three_cases(office: Office) -> None:
    """One completed, one rejected by the verifier, one left waiting."""
    done = (await office.submit())["request_id"]
    await office.take("verifier", done)
    assert (await office.verify(done)).status_code == 200
    await office.take("signer", done)
    assert (await office.step("signer", done, "approve")).status_code == 200
    await office.take("operator", done)
    issued = await office.step(
        "operator", done, "issue", document_number="3516-KK-2026-0002", collection="OFFICE"
    )
    assert issued.status_code == 200, issued.text
    await office.take("counter_officer", done)
    assert (await office.step("counter_officer", done, "complete")).status_code == 200

    refused = (await office.submit())["request_id"]
    await office.take("verifier", refused)
    rejected = await office.step("verifier", refused, "reject", reason="Dokumen tidak sah")
    assert rejected.status_code == 200, rejected.text
    await office.submit()


NAMED = {"verifier": "verifier-evaluasi", "counter_officer": "counter_officer-evaluasi"}
"""Officers the stack's staff directory names (`tests/e2e/staff_directory.json`)."""


def tile(dom: str, key: str) -> tuple[str, str]:
    """A summary tile's figure and the share it states, as the browser built them."""
    figure = re.search(f'id="figure-{key}">([^<]*)<', dom)
    share = re.search(f'id="share-{key}">([^<]*)<', dom)
    assert figure is not None, key
    assert share is not None, key
    return figure.group(1), share.group(1)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header chunk."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


async def test_the_monthly_report_counts_the_work_and_renders_in_a_browser(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
) -> None:
    try:
        browser = chromium.find_or_install()
    except chromium.ChromiumMissing as exc:
        pytest.skip(str(exc))
    office = Office(backend, http, tokens, subjects=NAMED)
    url = f"{backend.service_url('processing')}/v1/reports/monthly"
    month = month_of(datetime.now(UTC))
    supervisor = tokens("supervisor", service_point="KANTOR_DINAS")

    async def rows_now() -> dict[tuple[str, str], dict[str, Any]]:
        response = await http.get(url, params={"month": month}, headers=supervisor)
        assert response.status_code == 200, response.text
        return {(row["dimension"], row["key"]): row for row in response.json()["rows"]}

    def officer(rows: dict[tuple[str, str], dict[str, Any]], role: str) -> dict[str, Any]:
        return rows.get(("officer", NAMED[role]), {"decisions": 0, "completed": 0})

    before = await rows_now()
    await work_three_cases(office)

    async def counted() -> dict[tuple[str, str], dict[str, Any]] | None:
        rows = await rows_now()
        verifier, completer = officer(rows, "verifier"), officer(rows, "counter_officer")
        done = officer(before, "counter_officer")["completed"] + 1
        if verifier["decisions"] == officer(before, "verifier")["decisions"] + 2 and (
            completer["completed"] == done
        ):
            return rows
        return None

    rows = await eventually(counted, what="the office's work in the monthly report")
    total = rows[("total", "ALL")]
    assert total["received"] >= 3
    assert total["completed"] >= 1
    assert total["backlog"] >= 1
    assert rows[("channel", "COUNTER")]["label"] == "Loket"
    assert rows[("district", "3516.09")]["received"] >= 3
    assert rows[("district", "3516.09")]["label"] == "Dlanggu"
    verifier = rows[("officer", NAMED["verifier"])]
    assert verifier["label"] == "Dewi Lestari"
    assert verifier["rejected"] >= 1

    refused = await http.get(url, params={"month": month}, headers=office.officer("verifier"))
    assert refused.status_code == 403
    spreadsheet = await http.get(url, params={"month": month, "format": "csv"}, headers=supervisor)
    lines = list(csv.reader(io.StringIO(spreadsheet.text)))
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    assert lines[0][:3] == ["dimension", "key", "label"]
    assert lines[1][:3] == ["total", "ALL", "Semua permohonan"]

    async def settled_page() -> tuple[dict[str, Any], str] | None:
        """The page with the totals it shows: other tests' events may still be counted."""
        first = (await rows_now())[("total", "ALL")]
        page = await http.get(url, params={"month": month, "format": "html"}, headers=supervisor)
        assert page.headers["content-type"].startswith("text/html")
        return (first, page.text) if (await rows_now())[("total", "ALL")] == first else None

    total, html = await eventually(settled_page, what="a page whose totals hold still")
    # Chromium cannot send the bearer token, and a token in a URL would end up in logs: the
    # server's page is saved as it came and opened from the file.
    saved = tmp_path / "evaluasi.html"
    saved.write_text(html, encoding="utf-8")
    dom = chromium.dump_dom(browser, saved.as_uri())
    for chart in ("chart-services", "chart-on-time", "chart-ageing", "chart-states"):
        assert f'id="{chart}"' in dom
    assert dom.count("<rect") > 10
    assert "Evaluasi Bulanan Layanan Adminduk" in dom

    def whole(text: str) -> int:
        return int(text.replace(".", ""))

    figure, share = tile(dom, "send-back")
    assert whole(figure) == total["sent_back"]
    assert share.endswith(
        f" dari {total['received']:,} permohonan diterima bulan ini".replace(",", ".")
    )
    figure, share = tile(dom, "rejection")
    assert whole(figure) == total["rejected"]
    assert share.endswith(f" dari {total['closed']:,} kasus ditutup bulan ini".replace(",", "."))
    figure, share = tile(dom, "on-time")
    assert whole(figure) == total["on_time"]
    assert share.endswith(
        f" dari {total['completed']:,} permohonan selesai bulan ini".replace(",", ".")
    )
    assert whole(tile(dom, "received")[0]) == total["received"]
    assert "<td>Dewi Lestari</td>" in dom
    assert "<td>Dlanggu</td>" in dom
    assert "Kecamatan 09" not in dom

    png = tmp_path / "evaluasi.png"
    chromium.screenshot(browser, saved.as_uri(), png)
    assert png_size(png.read_bytes()) == (1240, 1754)
    assert png.stat().st_size > 20_000
    pdf = tmp_path / "evaluasi.pdf"
    chromium.print_to_pdf(browser, saved.as_uri(), pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 10_000
