"""The complaint route over HTTP, on the in-memory stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.adapters.citizen_tokens import CitizenTokenSigner
from services.intake.bootstrap import create_app, token_signer
from services.intake.config import IntakeSettings
from services.intake.entrypoints.complaints_api import ComplaintsContext
from shared.access import Counting
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0, citizen_request
from tests.fakes import FakeClock, FakeCounts, FakeRequestRepository, message_caps
from tests.fakes_appointments import FakeComplaintRepository

ANONYMOUS_FEE: dict[str, Any] = {
    "category": "ILLEGAL_FEE",
    "description": "Diminta Rp50.000 di loket.",
    "anonymous": True,
}


@dataclass
class Intake:
    client: httpx.AsyncClient
    complaints: FakeComplaintRepository
    signer: CitizenTokenSigner

    def citizen(self, phone: str) -> dict[str, str]:
        token, _ = self.signer.issue(phone=phone, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}

    async def complain(self, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.client.post("/v1/complaints", json=body, headers=headers)


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[Intake]:
    complaints, requests = FakeComplaintRepository(), FakeRequestRepository()
    await requests.add(citizen_request("req-1"), [])

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(app, Counting(counts=FakeCounts(), clock=FakeClock(T0)))
        provide(
            app,
            ComplaintsContext(
                complaints=complaints,
                requests=requests,
                clock=FakeClock(T0),
                message_caps=message_caps(),
            ),
        )
        yield {}

    settings = IntakeSettings(local_secrets_dir=tmp_path / "secrets")
    app = create_app(settings, wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield Intake(client, complaints, token_signer(settings, settings.cipher()))


async def test_an_anonymous_complaint_gets_a_number_and_names_no_one(intake: Intake) -> None:
    response = await intake.complain(ANONYMOUS_FEE)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["complaint_number"].startswith("ADU-")
    assert body["category"] == "ILLEGAL_FEE"
    assert body["anonymous"] is True
    assert body["filed_at"] == "2025-03-03T01:30:00Z"
    [event] = intake.complaints.outbox
    assert event.data["actor"]["id"] == "anonymous"
    assert event.data["phone"] is None
    assert event.data["description"] == "Diminta Rp50.000 di loket."


async def test_a_complaint_about_a_request_names_it_by_its_tracking_number(
    intake: Intake,
) -> None:
    response = await intake.complain(
        {"category": "DELAY", "description": "Belum jadi.", "tracking_number": "k7m2 q9xp"},
        **intake.citizen("+6285700000001"),
    )

    assert response.status_code == 201, response.text
    [event] = intake.complaints.outbox
    assert event.data["request_id"] == "req-1"
    assert event.data["phone"] == "+6285700000001"
    assert event.data["actor"]["kind"] == "citizen"
    assert event.data["actor"]["id"] != "anonymous"


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"tracking_number": "ZZZZ2222"}, "unknown_tracking_number", "tidak ditemukan"),
        ({"anonymous": False}, "invalid_request", "Nomor HP wajib"),
        ({"phone": "081234567890"}, "invalid_request", "anonim tidak mencantumkan"),
        ({"phone": "12345", "anonymous": False}, "invalid_request", "nomor seluler"),
        ({"description": "   "}, "invalid_request", "wajib diisi"),
        ({"description": "uang\u200bpelicin"}, "invalid_request", "tak terlihat"),
        ({"description": "x" * 2001}, "invalid_request", "Terlalu panjang"),
        ({"category": "BRIBE"}, "invalid_request", "ILLEGAL_FEE"),
    ],
)
async def test_a_refused_complaint_says_why_and_stores_nothing(
    intake: Intake, changes: dict[str, Any], error: str, reason: str
) -> None:
    response = await intake.complain(ANONYMOUS_FEE | changes)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == error
    assert reason in str(response.json())
    assert intake.complaints.complaints == {}


async def test_staff_do_not_file_complaints_here(intake: Intake) -> None:
    response = await intake.complain(
        ANONYMOUS_FEE, **bearer("verifier", service_point="KANTOR_DINAS")
    )

    assert response.status_code == 403


async def test_complaints_with_a_phone_count_against_its_daily_cap(intake: Intake) -> None:
    """Each would send the phone an acknowledgement; an anonymous one sends none."""
    body = {"category": "DELAY", "description": "Lama sekali.", "anonymous": False}
    answers = [await intake.complain(body | {"phone": "081234567890"}) for _ in range(11)]
    unnamed = await intake.complain(body | {"anonymous": True})

    assert [response.status_code for response in answers] == [201] * 10 + [429]
    assert answers[-1].json()["error"] == "phone_messages_capped"
    assert unnamed.status_code == 201
    assert len(intake.complaints.complaints) == 11
