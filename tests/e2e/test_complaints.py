"""Complaints through the running backend reach the audit log, pseudonymised."""

from __future__ import annotations

from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.complaints import ComplaintFiled
from tests.e2e.conftest import SUBMISSION, audit_entries
from tests.polling import eventually


async def filed_entry(http: httpx.AsyncClient, backend: Stack, complaint_id: str) -> dict[str, Any]:
    async def entry() -> list[dict[str, Any]] | None:
        found = await audit_entries(http, backend, subject=complaint_id)
        # Notify's acknowledgement of a named complaint is audited under its id too.
        return [e for e in found if e["event_type"] == ComplaintFiled.event_type] or None

    [filed] = await eventually(entry, what="the complaint in the audit log")
    assert filed["event_type"] == ComplaintFiled.event_type
    return filed


async def test_an_anonymous_complaint_of_an_illegal_fee_reaches_the_audit_log(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        f"{backend.service_url('intake')}/v1/complaints",
        json={
            "category": "ILLEGAL_FEE",
            "description": "Petugas loket Pak Joko meminta Rp100.000 untuk KK.",
            "anonymous": True,
        },
    )

    assert response.status_code == 201, response.text
    complaint = response.json()
    assert complaint["complaint_number"].startswith("ADU-")
    entry = await filed_entry(http, backend, complaint["complaint_id"])
    assert entry["data"]["category"] == "ILLEGAL_FEE"
    assert entry["data"]["anonymous"] is True
    assert entry["data"]["actor"]["id"] == "anonymous"
    assert entry["data"]["complaint_number"] == complaint["complaint_number"]
    assert "Joko" not in str(entry)


async def test_a_complaint_about_a_request_names_it_in_the_audit_log(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    intake = backend.service_url("intake")
    submitted = await http.post(
        f"{intake}/v1/requests", json=SUBMISSION | {"phone": "085700008801"}
    )
    assert submitted.status_code == 202, submitted.text
    request = submitted.json()

    response = await http.post(
        f"{intake}/v1/complaints",
        json={
            "category": "DELAY",
            "description": "Sudah lewat tenggat dan belum ada kabar.",
            "tracking_number": request["tracking_number"].lower(),
            "anonymous": False,
            "phone": "085700008801",
        },
    )

    assert response.status_code == 201, response.text
    entry = await filed_entry(http, backend, response.json()["complaint_id"])
    assert entry["data"]["request_id"] == request["request_id"]
    assert entry["data"]["anonymous"] is False
    assert "85700008801" not in str(entry)


async def test_a_complaint_about_an_unknown_request_is_refused(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        f"{backend.service_url('intake')}/v1/complaints",
        json={
            "category": "RUDENESS",
            "description": "Dibentak petugas.",
            "tracking_number": "ZZZZ2222",
            "anonymous": True,
        },
    )

    assert response.status_code == 422
    assert response.json()["error"] == "unknown_tracking_number"
