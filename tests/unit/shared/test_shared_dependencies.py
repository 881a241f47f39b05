from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.entrypoints.api import AuditContext
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.contracts.audit import SIGNER
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes


@asynccontextmanager
async def audit_api(*contexts: object) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(app, *contexts)
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://audit.test",
            headers=bearer("auditor"),
        ) as client,
    ):
        yield client


async def test_a_route_gets_the_context_its_feature_provided_by_type() -> None:
    entries = FakeLogEntries()
    context = AuditContext(
        entries=entries, nodes=FakeTreeNodes(), checkpoints=FakeCheckpoints(), signer=SIGNER
    )

    async with audit_api(context) as client:
        response = await client.get("/v1/audit/entries")

    assert response.status_code == 200, response.text


async def test_a_route_whose_feature_is_not_wired_answers_503_not_ready_not_500() -> None:
    async with audit_api() as client:
        response = await client.get("/v1/audit/entries")

    assert response.status_code == 503, response.text
    assert response.json()["error"] == "not_ready"
    assert "Retry-After" in response.headers
