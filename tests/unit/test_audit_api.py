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
from tests.builders import audit_chain
from tests.fakes import FakeAuditLog


@asynccontextmanager
async def audit_api(log: FakeAuditLog) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        app.state.audit_log = log
        yield {}

    app = create_app(AuditSettings(), wiring=wiring)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://audit.test") as client,
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


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"after_sequence": -1}])
async def test_bad_paging_is_a_422(log: FakeAuditLog, params: dict[str, int]) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/entries", params=params)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


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
