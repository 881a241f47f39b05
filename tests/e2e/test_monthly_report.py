"""The monthly report of the running services, after officers worked cases through the console:
as JSON and CSV, and as the HTML page rendered and printed by a real headless Chromium."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack import chromium
from devstack.stack import Stack
from services.processing.domain.report import month_of
from tests.e2e.conftest import eventually
from tests.e2e.test_case_work import Office, Tokens


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


async def test_the_monthly_report_counts_the_work_and_renders_in_a_browser(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
) -> None:
    try:
        browser = chromium.find_or_install()
    except chromium.ChromiumMissing as exc:
        pytest.skip(str(exc))
    office = Office(backend, http, tokens)
    await work_three_cases(office)
    url = f"{backend.service_url('processing')}/v1/reports/monthly"
    month = month_of(datetime.now(UTC))
    supervisor = tokens("supervisor", service_point="KANTOR_DINAS")

    async def counted() -> dict[tuple[str, str], dict[str, Any]] | None:
        response = await http.get(url, params={"month": month}, headers=supervisor)
        assert response.status_code == 200, response.text
        rows = {(row["dimension"], row["key"]): row for row in response.json()["rows"]}
        verifier = rows.get(("officer", f"verifier-{office.point}"))
        completer = rows.get(("officer", f"counter_officer-{office.point}"))
        if verifier and completer and verifier["decisions"] == 2 and completer["completed"] == 1:
            return rows
        return None

    rows = await eventually(counted, what="the office's work in the monthly report")
    total = rows[("total", "ALL")]
    assert total["received"] >= 3
    assert total["completed"] >= 1
    assert total["backlog"] >= 1
    assert rows[("channel", "COUNTER")]["label"] == "Loket"
    assert rows[("district", "3516.09")]["received"] >= 3
    assert rows[("officer", f"verifier-{office.point}")]["rejection_rate"] == 0.5

    refused = await http.get(url, params={"month": month}, headers=office.officer("verifier"))
    assert refused.status_code == 403
    spreadsheet = await http.get(url, params={"month": month, "format": "csv"}, headers=supervisor)
    lines = list(csv.reader(io.StringIO(spreadsheet.text)))
    assert spreadsheet.headers["content-type"].startswith("text/csv")
    assert lines[0][:3] == ["dimension", "key", "label"]
    assert lines[1][:3] == ["total", "ALL", "Semua permohonan"]

    page = await http.get(url, params={"month": month, "format": "html"}, headers=supervisor)
    assert page.headers["content-type"].startswith("text/html")
    # Chromium cannot send the bearer token, and a token in a URL would end up in logs: the
    # server's page is saved as it came and opened from the file.
    saved = tmp_path / "evaluasi.html"
    saved.write_text(page.text, encoding="utf-8")
    dom = chromium.dump_dom(browser, saved.as_uri())
    for chart in ("chart-services", "chart-on-time", "chart-ageing", "chart-states"):
        assert f'id="{chart}"' in dom
    assert dom.count("<rect") > 10
    assert f'id="figure-received">{total["received"]}<' in dom.replace(".", "")
    assert "Evaluasi Bulanan Layanan Adminduk" in dom
    pdf = tmp_path / "evaluasi.pdf"
    chromium.print_to_pdf(browser, saved.as_uri(), pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert pdf.stat().st_size > 10_000
