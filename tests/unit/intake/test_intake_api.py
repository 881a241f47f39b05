from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.citizen_tokens import CitizenTokenSigner
from services.intake.bootstrap import create_app, token_signer
from services.intake.config import IntakeSettings
from services.intake.entrypoints.api import IntakeContext
from services.intake.service_layer.sign_in import SignInContext
from shared.access import Counting
from shared.calendar import WorkingCalendar
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from shared.http.error_bodies import ErrorBody
from tests.auth import STAFF_KEYS, bearer
from tests.builders import FORM_FIELDS, T0
from tests.fakes import (
    CallCounter,
    FakeClock,
    FakeCounts,
    FakeIdempotencyKeys,
    FakeRequestRepository,
    FakeSignInRepository,
    message_caps,
)

MAX_BODY_BYTES = 2048
FORM: dict[str, Any] = {
    "service_code": "KK_BARU",
    "nik": "3516091204800001",
    "name": "Siti Aminah",
    "phone": "081234567890",
    "preferred_channel": "WHATSAPP",
    "fields": {"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"},
    "consent": True,
}


@dataclass
class Intake:
    app: FastAPI
    client: httpx.AsyncClient
    repository: FakeRequestRepository
    idempotency_keys: FakeIdempotencyKeys
    outbox_ready: CallCounter
    sign_ins: FakeSignInRepository
    sign_in_outbox_ready: CallCounter
    counts: FakeCounts
    signer: CitizenTokenSigner
    clock: FakeClock

    def citizen(self, phone: str = "+6281234567890") -> dict[str, str]:
        """The headers of a citizen signed in with this phone number."""
        token, _ = self.signer.issue(phone=phone, now=datetime.now(UTC))
        return {"Authorization": f"Bearer {token}"}


def answering(ok: bool) -> ReadinessCheck:
    async def check() -> bool:
        return ok

    return check


@asynccontextmanager
async def running_intake(
    checks: Mapping[str, ReadinessCheck],
    max_body_bytes: int = MAX_BODY_BYTES,
    **limits: int,
) -> AsyncIterator[Intake]:
    repository = FakeRequestRepository()
    idempotency_keys = FakeIdempotencyKeys()
    outbox_ready = CallCounter()
    repository.outgoing.register(outbox_ready)
    sign_ins = FakeSignInRepository()
    sign_in_outbox_ready = CallCounter()
    sign_ins.outgoing.register(sign_in_outbox_ready)
    counts = FakeCounts()
    clock = FakeClock(T0)

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            IntakeContext(
                repository=repository,
                idempotency_keys=idempotency_keys,
                catalogue=load_catalogue(),
                sign_in=SignInContext(
                    repository=sign_ins,
                    hash_code=lambda challenge_id, code: f"{challenge_id}:{code}",
                    counts=counts,
                    rules=settings.sign_in_rules(),
                ),
                citizen_tokens=signer,
                calendar=WorkingCalendar(),
                clock=clock,
                counts=counts,
                message_caps=message_caps(counts, settings.message_cap_rules()),
                wrong_lookups_per_hour=settings.wrong_lookups_per_hour,
            ),
        )
        provide(app, Counting(counts=counts, clock=clock))
        yield checks

    settings = IntakeSettings.model_validate(
        {"max_body_bytes": max_body_bytes, "messages_per_phone_day": 10**6, **limits}
    )
    signer = token_signer(settings, settings.cipher())
    app = create_app(settings, wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://intake.test"
        ) as client,
    ):
        yield Intake(
            app=app,
            client=client,
            repository=repository,
            idempotency_keys=idempotency_keys,
            outbox_ready=outbox_ready,
            sign_ins=sign_ins,
            sign_in_outbox_ready=sign_in_outbox_ready,
            counts=counts,
            signer=signer,
            clock=clock,
        )


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    async with running_intake({"mongo": answering(True)}) as running:
        yield running


async def test_a_submission_is_accepted_with_its_id_status_and_location(intake: Intake) -> None:
    response = await intake.client.post("/v1/requests", json=FORM)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "SUBMITTED"
    assert body["service_code"] == "KK_BARU"
    assert datetime.fromisoformat(body["submitted_at"]) == T0
    assert response.headers["Location"] == f"/v1/requests/{body['request_id']}"
    assert list(intake.repository.requests) == [body["request_id"]]
    assert intake.outbox_ready.calls == 1


async def test_a_replay_with_the_same_key_answers_200_with_the_same_request(
    intake: Intake,
) -> None:
    headers = {"Idempotency-Key": "b5b2c6a0-retry"}
    first = await intake.client.post("/v1/requests", json=FORM, headers=headers)

    replay = await intake.client.post("/v1/requests", json=FORM, headers=headers)

    assert first.status_code == 202
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers["Location"] == first.headers["Location"]
    assert len(intake.repository.requests) == 1
    assert intake.outbox_ready.calls == 1


async def test_a_replay_with_the_same_key_and_another_form_is_a_409(intake: Intake) -> None:
    headers = {"Idempotency-Key": "b5b2c6a0-retry"}
    await intake.client.post("/v1/requests", json=FORM, headers=headers)

    conflict = await intake.client.post(
        "/v1/requests",
        json=FORM | {"service_code": "KIA", "fields": FORM_FIELDS["KIA"]},
        headers=headers,
    )

    assert conflict.status_code == 409
    assert conflict.json()["error"] == "idempotency_conflict"
    assert "Idempotency-Key" in conflict.json()["message"]
    assert len(intake.repository.requests) == 1
    assert intake.outbox_ready.calls == 1


async def test_a_submitted_request_can_be_looked_up(intake: Intake) -> None:
    submitted = await intake.client.post("/v1/requests", json=FORM)

    found = await intake.client.get(submitted.headers["Location"], headers=intake.citizen())

    assert found.status_code == 200
    assert found.json() == submitted.json() | {
        "applicant": {
            "name": "Siti Aminah",
            "nik": "************0001",
            "phone": "+62********890",
            "preferred_channel": "WHATSAPP",
        }
    }


async def test_an_unknown_request_is_a_404_with_an_error_body(intake: Intake) -> None:
    response = await intake.client.get(f"/v1/requests/{uuid.uuid4()}", headers=intake.citizen())

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "Permohonan tidak ditemukan."}


async def test_a_request_is_found_by_any_spelling_of_its_id(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    request_id = uuid.UUID(submitted["request_id"])

    spellings = [str(request_id).upper(), f"{{{request_id}}}", request_id.hex, request_id.urn]
    found = [
        await intake.client.get(f"/v1/requests/{spelling}", headers=intake.citizen())
        for spelling in spellings
    ]

    assert str(request_id) == submitted["request_id"]
    assert [response.status_code for response in found] == [200] * len(spellings)
    assert all(response.json()["request_id"] == submitted["request_id"] for response in found)


@pytest.mark.parametrize(
    "request_id", ["no-such-request", "3f0c9a34-unknown", "3f0c9a34-7d2e-4b8a-9c1d-2e5f6a7b8c9"]
)
async def test_a_malformed_request_id_is_a_422_that_names_the_path(
    intake: Intake, request_id: str
) -> None:
    response = await intake.client.get(f"/v1/requests/{request_id}", headers=intake.citizen())

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["details"] == [{"field": "path.request_id", "reason": UUID_REASON}]


UUID_REASON = "Harus berupa UUID, misalnya 3f0c9a34-7d2e-4b8a-9c1d-2e5f6a7b8c9d."


async def test_request_ids_are_random_even_with_an_idempotency_key(intake: Intake) -> None:
    headers = {"Idempotency-Key": "b5b2c6a0-retry"}

    first = (await intake.client.post("/v1/requests", json=FORM, headers=headers)).json()

    assert uuid.UUID(first["request_id"]).version == 4
    assert list(intake.idempotency_keys.request_ids.values()) == [first["request_id"]]
    assert "b5b2c6a0-retry" not in intake.idempotency_keys.request_ids


async def test_an_unknown_path_and_a_wrong_method_answer_in_the_error_shape(
    intake: Intake,
) -> None:
    unknown = await intake.client.get("/v1/nothing-here")
    wrong_method = await intake.client.delete("/v1/services")

    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "GET"


async def test_the_service_list_shows_every_service_and_whether_it_is_online(
    intake: Intake,
) -> None:
    response = await intake.client.get("/v1/services")

    assert response.status_code == 200
    services = {service["service_code"]: service for service in response.json()}
    assert len(services) == 12
    assert services["KTP_REKAM"]["online"] is False
    assert services["KTP_REKAM"]["deadline_working_days"] is None
    assert services["AKTA_LAHIR"]["online"] is True
    assert "Surat keterangan lahir" in services["AKTA_LAHIR"]["requirements"]
    assert services["AKTA_LAHIR"]["service_name"] == "Akta kelahiran"
    assert services["AKTA_LAHIR"]["metadata"] is True
    assert "sms" in services["AKTA_LAHIR"]["channels"]


async def test_a_service_definition_lists_its_form_as_open311_attributes(intake: Intake) -> None:
    response = await intake.client.get("/v1/services/AKTA_LAHIR")

    assert response.status_code == 200
    definition = response.json()
    attributes = {attribute["code"]: attribute for attribute in definition["attributes"]}
    assert list(attributes) == list(FORM_FIELDS["AKTA_LAHIR"])
    assert [attribute["order"] for attribute in definition["attributes"]] == [1, 2, 3, 4, 5]
    assert attributes["child_sex"]["datatype"] == "singlevaluelist"
    assert {value["key"] for value in attributes["child_sex"]["values"]} == {"L", "P"}
    assert attributes["child_date_of_birth"]["datatype"] == "datetime"
    assert all(attribute["required"] for attribute in attributes.values())
    documents = {document["code"]: document for document in definition["documents"]}
    assert documents["BUKU_NIKAH"]["alternatives"] == ["SPTJM kebenaran data kelahiran"]
    assert documents["KK"]["media_types"] == ["application/pdf", "image/jpeg", "image/png"]


async def test_an_unknown_service_definition_is_a_404(intake: Intake) -> None:
    response = await intake.client.get("/v1/services/SIM_A")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@dataclass(frozen=True)
class BadInput:
    content: bytes
    error: str
    field: str | None = None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


def form_with(**changes: Any) -> bytes:
    return json.dumps(FORM | changes).encode()


def form_without(name: str) -> bytes:
    return json.dumps({key: value for key, value in FORM.items() if key != name}).encode()


BAD_INPUTS = {
    "malformed-json": BadInput(
        b'{"service_code": "KK_BARU",', "invalid_request", "body", "bukan JSON yang valid"
    ),
    "lone-surrogate": BadInput(
        form_with().replace(b"Siti", b"\\ud800Siti"), "invalid_request", "name", "Unicode"
    ),
    "integer-name": BadInput(form_with(name=10**40), "invalid_request", "name", "teks"),
    "name-with-bell-and-escape": BadInput(
        form_with(name="Siti\u0007\u001b[31mRed"), "invalid_request", "name", "karakter kontrol"
    ),
    "name-with-nul": BadInput(
        form_with(name="Siti\u0000"), "invalid_request", "name", "karakter kontrol (U+0000)"
    ),
    "name-with-right-to-left-override": BadInput(
        form_with(name="Siti \u202eanimA"), "invalid_request", "name", "arah teks (U+202E)"
    ),
    "name-with-isolate": BadInput(
        form_with(name="Siti \u2067Aminah"), "invalid_request", "name", "arah teks (U+2067)"
    ),
    "name-with-zero-width-space": BadInput(
        form_with(name="Si\u200bti"), "invalid_request", "name", "tak terlihat (U+200B)"
    ),
    "nik-with-separators": BadInput(
        form_with(nik="3516.0912.0480.0001"), "invalid_request", "nik", "tanpa spasi"
    ),
    "nik-with-arabic-indic-digits": BadInput(
        form_with(nik="\u0663\u0665" + "16091204800001"), "invalid_request", field="nik"
    ),
    "phone-with-tab": BadInput(
        form_with(phone="0812\t34567890"), "invalid_request", "phone", "seluler"
    ),
    "lower-case-service-code": BadInput(
        form_with(service_code="kk_baru"), "invalid_request", "service_code", "Format"
    ),
    "not-an-object": BadInput(b'["KK_BARU"]', "invalid_request", field="body"),
    "empty-body": BadInput(b"", "invalid_request", field="body"),
    "missing-nik": BadInput(form_without("nik"), "invalid_request", "nik", "Wajib diisi."),
    "missing-phone": BadInput(form_without("phone"), "invalid_form", field="phone"),
    "missing-form-field": BadInput(
        form_with(fields={"reason": "MENIKAH"}), "invalid_form", field="fields.address"
    ),
    "unknown-form-field": BadInput(
        form_with(fields={**FORM["fields"], "hobby": "x"}), "invalid_form", field="fields.hobby"
    ),
    "wrong-choice": BadInput(
        form_with(fields={**FORM["fields"], "reason": "BOSAN"}), "invalid_form", "fields.reason"
    ),
    "nik-of-another-regency": BadInput(
        form_with(nik="3578091204800001"), "invalid_form", "nik", "kabupaten/kota lain"
    ),
    "birth-date-not-in-nik": BadInput(
        form_with(date_of_birth="1980-04-13"), "invalid_form", "nik", "Tanggal lahir"
    ),
    "sex-not-in-nik": BadInput(form_with(sex="P"), "invalid_form", "nik", "Jenis kelamin"),
    "unknown-field": BadInput(form_with(email="a@b.id"), "invalid_request", field="email"),
    "unknown-service": BadInput(form_with(service_code="SIM_BARU"), "unknown_service"),
    "in-person-service": BadInput(form_with(service_code="KTP_REKAM"), "in_person_only"),
    "nik-too-short": BadInput(
        form_with(nik="35160912"), "invalid_request", "nik", "NIK harus terdiri dari 16 digit."
    ),
    "nik-bad-date": BadInput(
        form_with(nik="3516093204800001"), "invalid_request", "nik", "tanggal lahir"
    ),
    "landline-phone": BadInput(
        form_with(phone="0211234567"), "invalid_request", "phone", "nomor seluler Indonesia"
    ),
    "blank-name": BadInput(form_with(name="   "), "invalid_request", field="name"),
    "unknown-channel": BadInput(
        form_with(preferred_channel="EMAIL"), "invalid_request", field="preferred_channel"
    ),
    "short-idempotency-key": BadInput(
        form_with(),
        "invalid_request",
        "header.idempotency-key",
        headers=(("Idempotency-Key", "k"),),
    ),
    "idempotency-key-with-spaces": BadInput(
        form_with(),
        "invalid_request",
        "header.idempotency-key",
        "Formatnya tidak sesuai.",
        headers=(("Idempotency-Key", "my retry key"),),
    ),
    "refused-form-with-an-idempotency-key": BadInput(
        form_with(service_code="KTP_REKAM"),
        "in_person_only",
        headers=(("Idempotency-Key", "b5b2c6a0-retry"),),
    ),
}


@pytest.mark.parametrize("bad", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
async def test_bad_input_is_a_422_that_says_why_and_stores_nothing(
    intake: Intake, bad: BadInput
) -> None:
    response = await intake.client.post(
        "/v1/requests",
        content=bad.content,
        headers={"Content-Type": "application/json", **dict(bad.headers)},
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == bad.error
    assert isinstance(body["message"], str)
    assert body["message"]
    if bad.field is not None:
        assert bad.field in [detail["field"] for detail in body["details"]]
    if bad.reason is not None:
        assert any(bad.reason in detail["reason"] for detail in body["details"])
    assert not any(d["reason"].startswith("Value error") for d in body.get("details", []))
    assert ErrorBody.model_validate(body).model_dump(exclude_defaults=True) == body
    assert intake.repository.requests == {}
    assert intake.idempotency_keys.request_ids == {}
    assert intake.outbox_ready.calls == 0


UNDECODABLE = {
    "invalid-utf8": (form_with().replace(b"Siti", b"Si\xffti"), "harus berupa teks UTF-8"),
    "deeply-nested": (b'{"name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "terlalu dalam"),
    "huge-integer": (b'{"nik": ' + b"9" * 5000 + b"}", "angka yang terlalu panjang"),
}


@pytest.mark.parametrize("case", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_a_body_that_cannot_be_decoded_is_a_422_in_the_error_shape(
    case: tuple[bytes, str],
) -> None:
    content, reason = case
    async with running_intake({}, max_body_bytes=65_536) as intake:
        response = await intake.client.post(
            "/v1/requests", content=content, headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    [detail] = body["details"]
    assert detail["field"] == "body"
    assert reason in detail["reason"]
    assert intake.repository.requests == {}
    assert intake.idempotency_keys.request_ids == {}
    assert intake.outbox_ready.calls == 0


async def test_a_body_declared_over_the_limit_is_a_413(intake: Intake) -> None:
    padded = form_with(name="Siti " + "a" * MAX_BODY_BYTES)

    response = await intake.client.post(
        "/v1/requests", content=padded, headers={"Content-Type": "application/json"}
    )

    assert response.request.headers["Content-Length"] == str(len(padded))
    assert response.status_code == 413
    assert response.json() == {
        "error": "body_too_large",
        "message": f"Isi permintaan melebihi {MAX_BODY_BYTES} byte.",
    }
    assert intake.repository.requests == {}
    assert intake.outbox_ready.calls == 0


class ChunkedBody:
    """A request body streamed in chunks, so no Content-Length is sent; counts chunks taken."""

    def __init__(self, content: bytes, chunk_size: int) -> None:
        self._chunks = [
            content[start : start + chunk_size] for start in range(0, len(content), chunk_size)
        ]
        self.total = len(self._chunks)
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.taken += 1
            yield chunk


async def test_a_streamed_body_over_the_limit_is_a_413_without_reading_it_all(
    intake: Intake,
) -> None:
    body = ChunkedBody(form_with(name="Siti " + "a" * 10 * MAX_BODY_BYTES), chunk_size=256)

    response = await intake.client.post(
        "/v1/requests", content=body, headers={"Content-Type": "application/json"}
    )

    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert body.taken <= MAX_BODY_BYTES // 256 + 1 < body.total
    assert intake.repository.requests == {}
    assert intake.outbox_ready.calls == 0


async def test_a_streamed_body_within_the_limit_is_accepted(intake: Intake) -> None:
    body = ChunkedBody(form_with(), chunk_size=16)

    response = await intake.client.post(
        "/v1/requests", content=body, headers={"Content-Type": "application/json"}
    )

    assert "Content-Length" not in response.request.headers
    assert body.taken == body.total > 1
    assert response.status_code == 202
    assert len(intake.repository.requests) == 1


async def test_healthz_answers_while_the_process_runs(intake: Intake) -> None:
    response = await intake.client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_every_check_passes(intake: Intake) -> None:
    response = await intake.client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "mongo": "ok"}


async def test_readyz_is_503_and_names_the_failing_check() -> None:
    checks = {"mongo": answering(True), "kafka": answering(False)}
    async with running_intake(checks) as intake:
        response = await intake.client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "error": "not_ready",
        "message": "Layanan belum siap: ada bagian yang tidak menjawab.",
        "details": [{"field": "kafka", "reason": "Tidak menjawab."}],
    }


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (ServerSelectionTimeoutError("no servers"), "unavailable"),
        (OperationFailure("WriteConflict", code=112), "busy"),
    ],
    ids=["unreachable", "passes by itself"],
)
async def test_a_database_that_cannot_do_it_now_is_a_503_asking_to_retry(
    intake: Intake, monkeypatch: pytest.MonkeyPatch, failure: Exception, error: str
) -> None:
    async def failing(*args: object, **kwargs: object) -> bool:
        raise failure

    monkeypatch.setattr(intake.repository, "add", failing)

    response = await intake.client.post("/v1/requests", json=FORM)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == error


async def test_any_other_database_error_is_a_500_logged_for_the_operators(
    intake: Intake, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refused(*args: object, **kwargs: object) -> bool:
        raise OperationFailure("secret internals", code=2)

    monkeypatch.setattr(intake.repository, "add", refused)

    response = await intake.client.post("/v1/requests", json=FORM)

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret internals" not in response.text
    [logged] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert logged.exc_info is not None
    assert "/v1/requests" in logged.getMessage()


async def test_an_unexpected_failure_is_a_500_that_reveals_nothing(
    intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(intake.repository, "add", broken)
    transport = httpx.ASGITransport(app=intake.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
        response = await client.post("/v1/requests", json=FORM)

    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret" not in response.text


async def test_metrics_count_requests_by_route_template(intake: Intake) -> None:
    unknown = uuid.uuid4()
    await intake.client.get(f"/v1/requests/{unknown}", headers=intake.citizen())

    response = await intake.client.get("/metrics")

    assert response.status_code == 200
    assert 'route="/v1/requests/{request_id}",status="404"' in response.text
    assert str(unknown) not in response.text


@pytest.mark.parametrize("consent", ["yes", "true", 1, "1"])
async def test_consent_is_a_json_true_and_nothing_that_looks_like_one(consent: object) -> None:
    """A form that wrote "yes" has not recorded consent the API can rely on."""
    officer = bearer("counter_officer", service_point="KANTOR_DINAS")
    async with running_intake({"mongo": answering(True)}) as intake:
        response = await intake.client.post(
            "/v1/requests", json=FORM | {"consent": consent}, headers=officer
        )
        stored = len(intake.repository.requests)

    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"
    assert [detail["field"] for detail in response.json()["details"]] == ["consent"]
    assert stored == 0
