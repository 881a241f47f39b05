"""Sending and reading a request's documents over intake's HTTP API."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.intake.adapters.citizen_tokens import CitizenTokenSigner
from services.intake.bootstrap import create_app, token_signer
from services.intake.config import IntakeSettings
from services.intake.domain.citizen_request import RequestStatus
from services.intake.entrypoints.api import IntakeContext
from services.intake.entrypoints.documents_api import DocumentsContext
from services.intake.service_layer.sign_in import SignInContext
from shared.access import Counting
from shared.calendar import WorkingCalendar
from shared.dependencies import provide
from shared.file_contents import MAX_PAGES
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import MOBILE, T0
from tests.documents import (
    CATALOGUE,
    FAKE_PDF,
    JPEG,
    PDF,
    PNG,
    PROGRAM_AS_PDF,
    TEXT,
    pdf,
    png_claiming,
    sent_back,
    waiting_request,
)
from tests.fakes import (
    FakeClock,
    FakeCounts,
    FakeDocumentStore,
    FakeIdempotencyKeys,
    FakeRequestRepository,
    FakeSignInRepository,
    message_caps,
)

REQUEST_ID = "0b5d6a1e-0000-4000-8000-000000000001"
COUNTER_REQUEST_ID = "0b5d6a1e-0000-4000-8000-000000000002"
DOCUMENTS = f"/v1/requests/{REQUEST_ID}/documents"
MAX_DOCUMENT_BYTES = 650_000
"""Above the test catalogue's 600,000-byte documents, far above the 2 KiB of other bodies."""


@dataclass
class Intake:
    client: httpx.AsyncClient
    repository: FakeRequestRepository
    store: FakeDocumentStore
    signer: CitizenTokenSigner

    def citizen(self, phone: str = MOBILE) -> dict[str, str]:
        token, _ = self.signer.issue(phone=phone, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}

    async def upload(
        self,
        requirement: str,
        content: bytes | AsyncIterator[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        request_id: str = REQUEST_ID,
        content_type: str = "application/pdf",
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/requests/{request_id}/documents",
            params={"requirement": requirement},
            content=content,
            headers={"Content-Type": content_type, **(headers or self.citizen())},
        )


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    repository = FakeRequestRepository()
    store = FakeDocumentStore()
    await repository.add(waiting_request(REQUEST_ID), [])
    await repository.add(waiting_request(COUNTER_REQUEST_ID, service_point="MPP_1"), [])
    settings = IntakeSettings(max_body_bytes=2048, max_document_bytes=MAX_DOCUMENT_BYTES)
    signer = token_signer(settings, settings.cipher())
    counts = FakeCounts()

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            IntakeContext(
                repository=repository,
                idempotency_keys=FakeIdempotencyKeys(),
                catalogue=CATALOGUE,
                sign_in=SignInContext(
                    repository=FakeSignInRepository(),
                    hash_code=lambda challenge_id, code: f"{challenge_id}:{code}",
                    counts=counts,
                    rules=settings.sign_in_rules(),
                ),
                citizen_tokens=signer,
                calendar=WorkingCalendar(),
                clock=FakeClock(T0),
                counts=counts,
                message_caps=message_caps(counts),
            ),
        )
        provide(app, Counting(counts=counts, clock=FakeClock(T0)))
        provide(app, DocumentsContext(store=store, default_service_point="KANTOR_DINAS"))
        yield {}

    app = create_app(settings, wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield Intake(client=client, repository=repository, store=store, signer=signer)


def nothing_stored(intake: Intake) -> bool:
    return not intake.store.contents and not intake.store.documents


async def test_the_citizen_sends_a_document_and_the_request_shows_what_is_still_missing(
    intake: Intake,
) -> None:
    response = await intake.upload("KK", PDF)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["requirement"] == "KK"
    assert body["media_type"] == "application/pdf"
    assert body["size_bytes"] == len(PDF)
    assert body["replaces"] is None
    assert body["missing_documents"] == ["SURAT"]
    assert response.headers["Location"] == f"{DOCUMENTS}/{body['document_id']}"
    request = await intake.client.get(f"/v1/requests/{REQUEST_ID}", headers=intake.citizen())
    assert request.json()["missing_documents"] == ["SURAT"]


async def test_a_file_larger_than_the_usual_body_limit_is_taken_on_this_route_only(
    intake: Intake,
) -> None:
    large = PDF + b"\x00" * 500_000

    accepted = await intake.upload("SURAT", large)
    elsewhere = await intake.client.post(
        "/v1/lookup", content=b"{" + b" " * 3000 + b"}", headers={"Content-Type": "text/plain"}
    )

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["size_bytes"] == len(large)
    assert elsewhere.status_code == 413
    assert elsewhere.json()["error"] == "body_too_large"


@pytest.mark.parametrize(
    ("requirement", "content", "declared", "found"),
    [
        ("SURAT", TEXT, "application/pdf", "tidak dikenali"),
        ("SURAT", PNG, "application/pdf", "isinya PNG"),
        ("FOTO", PDF, "image/png", "isinya PDF"),
    ],
    ids=["text named pdf", "png declared as pdf", "pdf declared as png"],
)
async def test_a_file_whose_bytes_are_of_another_type_is_refused_with_415(
    intake: Intake, requirement: str, content: bytes, declared: str, found: str
) -> None:
    response = await intake.upload(requirement, content, content_type=declared)

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert found in response.json()["message"]
    assert nothing_stored(intake)


async def test_a_file_over_its_requirements_size_is_refused_while_it_arrives(
    intake: Intake,
) -> None:
    sent: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for n in range(20):
            sent.append(n)
            yield (PDF if n == 0 else b"") + b"\x00" * 100_000

    response = await intake.upload("KK", body())

    assert response.status_code == 413
    assert response.json() == {
        "error": "document_too_large",
        "message": "Berkas Kartu Keluarga terlalu besar: paling besar 585 KB.",
    }
    assert len(sent) < 20
    assert nothing_stored(intake)


async def test_a_declared_length_over_the_routes_limit_is_refused_unread(intake: Intake) -> None:
    response = await intake.upload("KK", PDF + b"\x00" * MAX_DOCUMENT_BYTES)

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert nothing_stored(intake)


async def test_another_citizens_request_takes_no_document_and_looks_absent(
    intake: Intake,
) -> None:
    response = await intake.upload("KK", PDF, headers=intake.citizen("+6289876543210"))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert nothing_stored(intake)


async def test_officers_send_documents_only_for_requests_of_their_service_point(
    intake: Intake,
) -> None:
    own = await intake.upload(
        "KK",
        PDF,
        request_id=COUNTER_REQUEST_ID,
        headers=bearer("counter_officer", service_point="MPP_1"),
    )
    other = await intake.upload(
        "SURAT",
        PDF,
        request_id=COUNTER_REQUEST_ID,
        headers=bearer("counter_officer", service_point="MPP_2"),
    )

    assert own.status_code == 201, own.text
    assert other.status_code == 403


async def test_a_request_the_office_is_verifying_takes_no_document(intake: Intake) -> None:
    stored = intake.repository.requests[REQUEST_ID]
    intake.repository.requests[REQUEST_ID] = dataclasses.replace(
        stored, status=RequestStatus.IN_VERIFICATION
    )

    response = await intake.upload("KK", PDF)

    assert response.status_code == 409
    assert response.json()["error"] == "not_accepting_documents"
    assert nothing_stored(intake)


async def test_a_document_is_replaced_until_an_officer_begins_to_verify_the_request(
    intake: Intake,
) -> None:
    first = (await intake.upload("KK", PDF)).json()
    replaced = await intake.upload("KK", JPEG, content_type="image/jpeg")
    stored = intake.repository.requests[REQUEST_ID]
    intake.repository.requests[REQUEST_ID] = dataclasses.replace(
        stored, status=RequestStatus.IN_VERIFICATION
    )
    too_late = await intake.upload("KK", PNG, content_type="image/png")

    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["replaces"] == first["document_id"]
    assert replaced.json()["media_type"] == "image/jpeg"
    assert too_late.status_code == 409
    assert too_late.json()["error"] == "not_accepting_documents"
    assert "petugas sudah mulai memeriksanya" in too_late.json()["message"]
    current = replaced.json()["document_id"]
    assert intake.repository.requests[REQUEST_ID].documents == {"KK": current}
    assert set(intake.store.documents) == set(intake.store.contents) == {current}
    old = await intake.client.get(f"{DOCUMENTS}/{first['document_id']}", headers=intake.citizen())
    assert old.status_code == 404


async def test_the_village_operator_who_submitted_replaces_a_document(intake: Intake) -> None:
    village_request = "0b5d6a1e-0000-4000-8000-000000000003"
    request = dataclasses.replace(waiting_request(village_request), village="3516090001")
    await intake.repository.add(request, [])
    operator = bearer("village_operator", village="3516090001")

    first = await intake.upload("KK", PDF, request_id=village_request, headers=operator)
    again = await intake.upload("KK", PDF, request_id=village_request, headers=operator)

    assert first.status_code == again.status_code == 201
    assert again.json()["replaces"] == first.json()["document_id"]


async def test_after_a_send_back_only_a_document_asked_for_is_replaced(intake: Intake) -> None:
    first = (await intake.upload("KK", PDF)).json()
    stored = intake.repository.requests[REQUEST_ID]
    intake.repository.requests[REQUEST_ID] = sent_back(stored, asked=("SURAT",))
    not_asked = await intake.upload("KK", JPEG, content_type="image/jpeg")
    intake.repository.requests[REQUEST_ID] = sent_back(stored, asked=("KK",))
    replaced = await intake.upload("KK", JPEG, content_type="image/jpeg")

    assert not_asked.status_code == 409
    assert not_asked.json()["error"] == "not_requested"
    assert "yang diminta: SURAT" in not_asked.json()["message"]
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["replaces"] == first["document_id"]


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        (FAKE_PDF, "document_unreadable", "tidak dapat dibuka sebagai PDF"),
        (PROGRAM_AS_PDF, "document_unreadable", "bukan PDF sungguhan"),
        (PDF[: len(PDF) // 2], "document_unreadable", "terpotong"),
        (pdf(password="rahasia"), "document_encrypted", "kata sandi"),
        (pdf(MAX_PAGES + 1), "too_many_pages", f"paling banyak {MAX_PAGES} halaman"),
        (png_claiming(100_000, 100_000), "too_many_pixels", "megapiksel"),
        (png_claiming(10_000, 6_000), "too_many_pixels", "10000 x 6000 piksel"),
        (JPEG[:-40], "document_unreadable", "tidak dapat dibuka sebagai JPEG"),
    ],
    ids=[
        "text with a pdf header",
        "program with a pdf header",
        "truncated pdf",
        "locked pdf",
        "too many pages",
        "png claiming 10 gigapixels",
        "png claiming 60 megapixels",
        "truncated jpeg",
    ],
)
async def test_a_file_that_does_not_open_as_its_type_is_a_422_and_nothing_is_stored(
    intake: Intake, content: bytes, code: str, reason: str
) -> None:
    response = await intake.upload("KK", content)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == code
    assert reason in response.json()["message"]
    assert "Kartu Keluarga" in response.json()["message"]
    assert nothing_stored(intake)


@pytest.mark.parametrize(
    ("requirement", "code"),
    [("AKTA", "unknown_requirement"), ("kk; drop", "invalid_request")],
)
async def test_a_requirement_the_service_does_not_have_is_a_422(
    intake: Intake, requirement: str, code: str
) -> None:
    response = await intake.upload(requirement, PDF)

    assert response.status_code == 422
    assert response.json()["error"] == code


async def test_an_empty_file_is_a_422(intake: Intake) -> None:
    response = await intake.upload("KK", b"")

    assert response.status_code == 422
    assert response.json()["error"] == "empty_document"


async def test_the_officers_of_the_cases_service_point_download_the_file_as_sent(
    intake: Intake,
) -> None:
    document_id = (await intake.upload("KK", PDF)).json()["document_id"]
    url = f"{DOCUMENTS}/{document_id}"

    verifier = await intake.client.get(
        url, headers=bearer("verifier", service_point="KANTOR_DINAS")
    )
    citizen = await intake.client.get(url, headers=intake.citizen())
    elsewhere = await intake.client.get(url, headers=bearer("verifier", service_point="MPP_9"))
    stranger = await intake.client.get(url, headers=intake.citizen("+6289876543210"))

    assert verifier.status_code == 200
    assert verifier.content == PDF
    assert verifier.headers["content-type"] == "application/pdf"
    assert verifier.headers["x-content-type-options"] == "nosniff"
    assert verifier.headers["content-disposition"] == 'attachment; filename="KK.pdf"'
    assert citizen.content == PDF
    assert elsewhere.status_code == 404
    assert stranger.status_code == 404


async def test_a_counter_requests_documents_are_read_at_that_counters_service_point(
    intake: Intake,
) -> None:
    counter = bearer("counter_officer", service_point="MPP_1")
    sent = await intake.upload("KK", PNG, request_id=COUNTER_REQUEST_ID, headers=counter)
    url = f"/v1/requests/{COUNTER_REQUEST_ID}/documents/{sent.json()['document_id']}"

    there = await intake.client.get(url, headers=bearer("supervisor", service_point="MPP_1"))
    head_office = await intake.client.get(
        url, headers=bearer("supervisor", service_point="KANTOR_DINAS")
    )

    assert there.status_code == 200
    assert there.headers["content-type"] == "image/png"
    assert head_office.status_code == 404


async def test_a_replaced_or_unknown_document_is_not_read(intake: Intake) -> None:
    old = (await intake.upload("KK", PDF)).json()["document_id"]
    stored = intake.repository.requests[REQUEST_ID]
    intake.repository.requests[REQUEST_ID] = sent_back(stored)
    await intake.upload("KK", PNG, content_type="image/png")

    replaced = await intake.client.get(f"{DOCUMENTS}/{old}", headers=intake.citizen())
    unknown = await intake.client.get(f"{DOCUMENTS}/{uuid.uuid4()}", headers=intake.citizen())

    assert replaced.status_code == unknown.status_code == 404
    assert replaced.json()["message"] == "Dokumen tidak ditemukan."


async def test_the_api_document_describes_the_raw_body_and_its_refusals(intake: Intake) -> None:
    schema = (await intake.client.get("/openapi.json")).json()
    upload = schema["paths"]["/v1/requests/{request_id}/documents"]["post"]
    download = schema["paths"]["/v1/requests/{request_id}/documents/{document_id}"]["get"]

    assert set(upload["requestBody"]["content"]) == {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/octet-stream",
    }
    assert {"201", "401", "403", "404", "408", "409", "413", "415", "422"} <= set(
        upload["responses"]
    )
    assert set(download["responses"]["200"]["content"]) == {
        "application/pdf",
        "image/jpeg",
        "image/png",
    }
