"""Citizens without digital tools: a village operator submits for them, with their consent, or a
counter officer registers them at the office; both enter the same flow as the citizen's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.cases import CaseOpened
from shared.events.models.requests import RequestSubmitted
from tests.e2e.conftest import SUBMISSION, audit_entries, sink_messages
from tests.polling import eventually

Tokens = Callable[..., dict[str, str]]
VILLAGE = "3516092003"
WITHOUT_PHONE = {key: value for key, value in SUBMISSION.items() if key != "phone"}


async def entry_of(
    http: httpx.AsyncClient, stack: Stack, subject: str, event_type: str
) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        entries = await audit_entries(http, stack, subject=subject)
        return next((e for e in entries if e["event_type"] == event_type), None)

    return await eventually(found, what=f"{event_type} of {subject} in the audit log")


async def test_an_operator_submits_for_a_citizen_without_a_phone_with_their_consent(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    intake = backend.service_url("intake")
    operator = tokens(
        "village_operator",
        village=VILLAGE,
        subject="operator-sooko",
        phone_number="+6281377770001",
    )

    without_consent = await http.post(
        f"{intake}/v1/requests", json=WITHOUT_PHONE | {"consent": False}, headers=operator
    )
    submitted = await http.post(f"{intake}/v1/requests", json=WITHOUT_PHONE, headers=operator)

    assert without_consent.status_code == 422
    assert without_consent.json()["error"] == "consent_required"
    assert submitted.status_code == 202, submitted.text
    request = submitted.json()
    assert request["applicant"]["phone"] is None
    assert request["missing_documents"] == ["BUKU_NIKAH"]
    request_id = request["request_id"]

    entry = await entry_of(http, backend, request_id, RequestSubmitted.event_type)
    assert entry["data"]["consent_recorded"] is True
    assert entry["data"]["actor"]["kind"] == "operator"
    assert entry["data"]["actor"]["village"] == VILLAGE
    assert entry["data"]["applicant"]["phone"] is None
    assert entry["data"]["assisted_contact"].startswith("hmac-sha256:")
    await entry_of(http, backend, request_id, CaseOpened.event_type)

    # The citizen has no phone: the operator is told, by SMS, to pass the news on.
    async def forwarded() -> list[dict[str, Any]]:
        return [
            message
            for message in await sink_messages(http, backend)
            if message["to"] == "+6281377770001" and request["tracking_number"] in message["text"]
        ]

    [receipt] = await eventually(forwarded, what="the receipt at the operator's phone")
    assert receipt["channel"] == "SMS"
    assert receipt["text"].startswith("Utk Siti Aminah (")

    by_operator = await http.get(f"{intake}/v1/requests/{request_id}", headers=operator)
    assert by_operator.status_code == 200
    assert by_operator.json()["status"] in {"SUBMITTED", "IN_VERIFICATION"}


async def test_a_citizen_submitting_on_their_own_must_give_a_phone(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=WITHOUT_PHONE)

    assert response.status_code == 422
    assert response.json()["details"] == [
        {"field": "phone", "reason": "Nomor HP wajib diisi agar Anda dapat dihubungi."}
    ]


async def test_a_counter_officer_registers_a_walk_in_request_into_the_same_flow(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    intake = backend.service_url("intake")
    point = "MPP_MOJOSARI"
    counter = tokens("counter_officer", service_point=point, subject="loket-3")
    walk_in = SUBMISSION | {
        "service_code": "KTP_CETAK",
        "fields": {"family_card_number": "3516090101080001", "reason": "RUSAK"},
        "date_of_birth": "1980-04-12",
        "sex": "L",
    }

    submitted = await http.post(f"{intake}/v1/requests", json=walk_in, headers=counter)

    assert submitted.status_code == 202, submitted.text
    request = submitted.json()
    assert request["applicant"]["nik"] == SUBMISSION["nik"]
    assert request["expected_datetime"] > request["submitted_at"]
    entry = await entry_of(http, backend, request["request_id"], RequestSubmitted.event_type)
    assert entry["data"]["actor"] == {
        "kind": "staff",
        "id": "loket-3",
        "role": "counter_officer",
        "village": None,
        "service_point": point,
        "channel": "api",
    }
    assert entry["data"]["form"] != walk_in["fields"], "form fields are pseudonymised in audit"
    opened = await entry_of(http, backend, request["request_id"], CaseOpened.event_type)
    assert opened["data"]["service_point"] == point
    other_point = tokens("counter_officer", service_point="KANTOR_DINAS")
    refused = await http.get(f"{intake}/v1/requests/{request['request_id']}", headers=other_point)
    assert refused.status_code == 403
