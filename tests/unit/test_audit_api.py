from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from shared.http import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import audit_chain
from tests.fakes import FakeAuditLog


@asynccontextmanager
async def audit_api(log: FakeAuditLog) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        app.state.audit_log = log
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://audit.test", headers=bearer("auditor")
        ) as client,
    ):
        yield client


@pytest.fixture
async def log() -> FakeAuditLog:
    log = FakeAuditLog()
    await log.append(audit_chain("req-1", "req-2", "req-1", "req-3"))
    return log


async def test_entries_page_through_the_log_in_order(log: FakeAuditLog) -> None:
    async with audit_api(log) as client:
        first = (await client.get("/v1/audit/entries", params={"limit": 3})).json()
        rest = (
            await client.get(
                "/v1/audit/entries",
                params={"limit": 3, "after_sequence": first["next_after_sequence"]},
            )
        ).json()

    assert [entry["sequence"] for entry in first["entries"]] == [1, 2, 3]
    assert first["next_after_sequence"] == 3
    assert [entry["sequence"] for entry in rest["entries"]] == [4]
    assert rest["next_after_sequence"] is None
    assert set(first["entries"][0]) >= {"event_id", "event_type", "previous_hash", "entry_hash"}


async def test_entries_of_one_subject(log: FakeAuditLog) -> None:
    async with audit_api(log) as client:
        page = (await client.get("/v1/audit/entries", params={"subject": "req-1"})).json()

    assert [entry["sequence"] for entry in page["entries"]] == [1, 3]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"limit": 0}, "query.limit", "Paling kecil 1."),
        ({"limit": 1001}, "query.limit", "Paling besar 1000."),
        ({"limit": "ten"}, "query.limit", "Harus berupa bilangan bulat."),
        ({"after_sequence": -1}, "query.after_sequence", "Paling kecil 0."),
        ({"after_sequence": 2**63}, "query.after_sequence", f"Paling besar {2**63 - 1}."),
        ({"after_sequence": 10**400}, "query.after_sequence", "Paling besar"),
        ({"subject": "req-1\u0000"}, "query.subject", "Formatnya tidak sesuai."),
        ({"subject": ""}, "query.subject", "Terlalu pendek."),
    ],
)
async def test_bad_paging_is_a_422_that_names_the_parameter(
    log: FakeAuditLog, params: dict[str, str | int], field: str, reason: str
) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/entries", params=params)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    [detail] = body["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]


async def test_paging_from_the_largest_sequence_finds_nothing(log: FakeAuditLog) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/entries", params={"after_sequence": 2**63 - 1})

    assert response.status_code == 200
    assert response.json() == {"entries": [], "next_after_sequence": None}


async def test_verify_reports_an_intact_chain(log: FakeAuditLog) -> None:
    head = await log.head()
    assert head is not None
    async with audit_api(log) as client:
        verification = (await client.get("/v1/audit/verify")).json()

    assert verification == {
        "valid": True,
        "entries": 4,
        "head_hash": head.entry_hash,
        "first_invalid_sequence": None,
    }


async def test_verify_points_at_a_tampered_entry() -> None:
    entries = audit_chain("req-1", "req-2", "req-3")
    entries[1] = dataclasses.replace(entries[1], subject="req-9")
    log = FakeAuditLog()
    await log.append(entries)

    async with audit_api(log) as client:
        verification = (await client.get("/v1/audit/verify")).json()

    assert verification["valid"] is False
    assert verification["entries"] == 1
    assert verification["first_invalid_sequence"] == 2
