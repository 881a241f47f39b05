"""Every route of every service, for every role, and no token: allowed, 403 or 401 as its rule says.

The cases are generated from the apps' routes, so a new route is covered the moment it exists,
and an app whose route has no rule does not even build.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from services.audit.bootstrap import create_app as audit_app
from services.audit.config import AuditSettings
from services.audit.entrypoints.access import ACCESS as AUDIT_ACCESS
from services.audit.entrypoints.api import AuditContext
from services.audit.entrypoints.integrity_api import IntegrityContext
from services.intake.bootstrap import create_app as intake_app
from services.intake.bootstrap import token_signer
from services.intake.config import IntakeSettings
from services.intake.entrypoints.access import ACCESS as INTAKE_ACCESS
from services.notify.bootstrap import create_app as notify_app
from services.notify.config import NotifySettings
from services.notify.entrypoints.access import ACCESS as NOTIFY_ACCESS
from services.processing.bootstrap import create_app as processing_app
from services.processing.config import ProcessingSettings
from services.processing.entrypoints.access import ACCESS as PROCESSING_ACCESS
from services.processing.entrypoints.api import ProcessingContext
from services.processing.letters.routes import LettersContext
from shared.access import PROBES, AccessTable, Rule, route_keys
from shared.config import ServiceSettings
from shared.dependencies import provide
from shared.http.app import ReadinessCheck, build_app
from shared.identity import Role
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0
from tests.contracts.audit import SIGNER
from tests.fake_intake import FakeIntake
from tests.fakes import (
    FakeAtRisk,
    FakeCaseRepository,
    FakeClock,
    FakeQueues,
    FlatCalendar,
)
from tests.fakes_audit import FakeAlerts, FakeCheckpoints, FakeLogEntries, FakeTreeNodes
from tests.fakes_letters import FakeLetterIndex, FakeLetterRepository, FakeLetterScans
from tests.unit.notify.test_notify_history import FakeNotify

CALLERS: list[Role | None] = [None, *Role]


INTAKE_SETTINGS = IntakeSettings(
    submissions_per_minute=10**6, lookups_per_minute=10**6, sign_ins_per_minute=10**6
)
CITIZEN_TOKENS = token_signer(INTAKE_SETTINGS, INTAKE_SETTINGS.cipher())


def intake() -> FastAPI:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        FakeIntake(citizen_tokens=CITIZEN_TOKENS).install(app)
        yield {}

    return intake_app(INTAKE_SETTINGS, wiring=wiring, staff_keys=STAFF_KEYS)


def audit() -> FastAPI:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            AuditContext(
                entries=FakeLogEntries(),
                nodes=FakeTreeNodes(),
                checkpoints=FakeCheckpoints(),
                signer=SIGNER,
            ),
        )
        provide(
            app,
            IntegrityContext(
                alerts=FakeAlerts(),
                nodes=FakeTreeNodes(),
                checkpoints=FakeCheckpoints(),
                clock=FakeClock(T0),
            ),
        )
        yield {}

    return audit_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)


@asynccontextmanager
async def nothing(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    yield {}


def processing() -> FastAPI:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            ProcessingContext(
                repository=FakeCaseRepository(),
                queues=FakeQueues(),
                at_risk=FakeAtRisk(),
                calendar=FlatCalendar(),
                clock=FakeClock(T0),
            ),
        )
        provide(
            app,
            LettersContext(
                repository=FakeLetterRepository(),
                scans=FakeLetterScans(),
                index=FakeLetterIndex(),
                policy=ProcessingSettings().letter_policy(),
                calendar=FlatCalendar(),
                clock=FakeClock(T0),
                due_soon_within=timedelta(hours=8),
                max_scan_bytes=1024,
            ),
        )
        yield {}

    return processing_app(ProcessingSettings(), wiring, staff_keys=STAFF_KEYS)


APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake,
    "processing": processing,
    "notify": lambda: notify_app(NotifySettings(), FakeNotify().wiring, staff_keys=STAFF_KEYS),
    "audit": audit,
}
TABLES: dict[str, AccessTable] = {
    "intake": {**PROBES, **INTAKE_ACCESS},
    "processing": {**PROBES, **PROCESSING_ACCESS},
    "notify": {**PROBES, **NOTIFY_ACCESS},
    "audit": {**PROBES, **AUDIT_ACCESS},
}


def headers(caller: Role | None) -> dict[str, str]:
    """A token for the role, with the scope claims the role comes with."""
    if caller is None:
        return {}
    if caller is Role.CITIZEN:
        token, _ = CITIZEN_TOKENS.issue(phone="+6281234567890", now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}
    scope = (
        {"village": "3516010001"}
        if caller is Role.VILLAGE_OPERATOR
        else {"service_point": "KANTOR_DINAS"}
    )
    return bearer(caller.value, **scope)


CITIZEN_TOKEN_TRUSTERS = ("intake", "notify")


def expected(rule: Rule, caller: Role | None, service: str) -> str:
    """Citizens' tokens come from intake; intake and notify (a citizen's own messages) trust
    them: elsewhere they prove nothing, like any token from an unknown issuer."""
    if caller is None:
        return "allowed" if rule.anonymous else "401"
    if caller is Role.CITIZEN and service not in CITIZEN_TOKEN_TRUSTERS:
        return "401"
    return "allowed" if caller in rule.roles else "403"


def outcome(response: httpx.Response) -> str:
    """A webhook's own 401 for an unsigned delivery means the access table let the call in."""
    if response.status_code == 401 and response.json()["error"] == "invalid_signature":
        return "allowed"
    return str(response.status_code) if response.status_code in (401, 403) else "allowed"


@pytest.mark.parametrize("service", APPS)
async def test_every_route_answers_every_caller_as_its_rule_says(service: str) -> None:
    app = APPS[service]()
    table = TABLES[service]
    seen: dict[tuple[str, str, str], tuple[str, str]] = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        for method, path in sorted(set(route_keys(app)) | set(table)):
            url = path.replace("{request_id}", str(uuid.uuid4()))
            url = url.replace("{booking_number}", "K7M2Q9XP").replace("{service_code}", "KIA")
            url = url.replace("{letter_id}", "2025-00001").replace("{disposition_id}", "D1")
            for caller in CALLERS:
                response = await client.request(
                    method,
                    url,
                    headers=headers(caller),
                    json={} if method == "POST" else None,
                )
                name = "no token" if caller is None else caller.value
                seen[(method, path, name)] = (
                    outcome(response),
                    expected(table[(method, path)], caller, service),
                )

    wrong = {case: result for case, result in seen.items() if result[0] != result[1]}
    assert not wrong, f"(got, expected) per route and caller: {wrong}"
    assert len(seen) == len(table) * len(CALLERS)


@pytest.mark.parametrize("service", APPS)
def test_every_rule_names_a_documented_route_that_exists(service: str) -> None:
    """Metrics are for the platform's scraper, so they are not in the API document."""
    undocumented = {("GET", "/metrics")}

    assert set(TABLES[service]) - undocumented == set(route_keys(APPS[service]()))


def test_an_app_with_a_route_that_has_no_rule_does_not_build() -> None:
    router = APIRouter()

    @router.get("/v1/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/v1/forgotten"):
        build_app(
            title="t", settings=ServiceSettings(), wiring=nothing, access={}, routers=[router]
        )


def test_only_auditors_read_the_audit_log() -> None:
    assert {key: rule.roles for key, rule in AUDIT_ACCESS.items()} == {
        ("GET", "/v1/audit/entries"): {Role.AUDITOR},
        ("GET", "/v1/audit/checkpoint"): {Role.AUDITOR},
        ("GET", "/v1/audit/key"): {Role.AUDITOR},
        ("GET", "/v1/audit/proofs/inclusion"): {Role.AUDITOR},
        ("GET", "/v1/audit/proofs/consistency"): {Role.AUDITOR},
        ("GET", "/v1/audit/export"): {Role.AUDITOR},
        ("GET", "/v1/audit/verify"): {Role.AUDITOR},
        ("GET", "/v1/audit/alerts"): {Role.AUDITOR},
        ("GET", "/v1/audit/alerts/{alert_id}"): {Role.AUDITOR},
        ("POST", "/v1/audit/alerts/{alert_id}/acknowledge"): {Role.AUDITOR},
        ("POST", "/v1/audit/alerts/{alert_id}/resolve"): {Role.AUDITOR},
        ("GET", "/v1/audit/integrity-summary"): {Role.AUDITOR},
        ("GET", "/v1/audit/integrity-summary.html"): {Role.AUDITOR},
        ("GET", "/v1/audit/stream"): {Role.AUDITOR},
    }
    assert not any(rule.anonymous for rule in AUDIT_ACCESS.values())


def test_requests_are_read_by_id_only_by_their_citizen_and_those_who_submit_for_them() -> None:
    rule = INTAKE_ACCESS[("GET", "/v1/requests/{request_id}")]

    assert rule.roles == {Role.CITIZEN, Role.VILLAGE_OPERATOR, Role.COUNTER_OFFICER}
    assert not rule.anonymous


def test_every_public_intake_route_that_writes_or_finds_is_rate_limited() -> None:
    public_posts = {
        key: rule for key, rule in INTAKE_ACCESS.items() if key[0] == "POST" and rule.anonymous
    }

    assert set(public_posts) == {
        ("POST", "/v1/requests"),
        ("POST", "/v1/lookup"),
        ("POST", "/v1/auth/otp"),
        ("POST", "/v1/auth/otp/verify"),
        ("POST", "/v1/appointments"),
        ("POST", "/v1/appointments/{booking_number}/cancel"),
        ("POST", "/v1/appointments/{booking_number}/reschedule"),
        ("POST", "/v1/complaints"),
        ("POST", "/v1/channels/whatsapp/webhook"),
        ("POST", "/v1/channels/sms/webhook"),
    }
    signed = {("POST", "/v1/channels/whatsapp/webhook"), ("POST", "/v1/channels/sms/webhook")}
    assert all(rule.rate_limit for key, rule in public_posts.items() if key not in signed)
