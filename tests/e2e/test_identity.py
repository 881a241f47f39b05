"""Identity and access on the running services, with tokens from the local OpenID issuer and
citizens signed in by a one-time code that travels through notify to the message sink."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.issuer import SigningKeys, mint
from devstack.stack import Stack
from shared.events.models import RequestSubmitted
from tests.e2e.conftest import SUBMISSION, audit_entries, codes_sent, eventually, sign_in

Tokens = Callable[..., dict[str, str]]
VILLAGE = "3516010001"


def entries_url(stack: Stack) -> str:
    return f"{stack.service_url('audit')}/v1/audit/entries"


def token_variants(stack: Stack) -> dict[str, str]:
    """Tokens an attacker or a broken client might send, each of which must be refused."""
    keys = stack.issuer_keys()
    issuer = stack.issuer_url

    def auditor(**changes: Any) -> str:
        return mint(keys, issuer=issuer, subject="auditor-x", roles=["auditor"], **changes)

    stranger = SigningKeys(
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        kid="not-a-key-of-the-issuer",
    )
    impostor = SigningKeys(private_key=stranger.private_key, kid=keys.kid)
    header, payload, signature = auditor().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin", "auditor"]
    forged_payload = _b64(claims)
    return {
        "expired": auditor(now=datetime.now(UTC) - timedelta(hours=2), lifetime_s=60),
        "not yet valid": auditor(now=datetime.now(UTC) + timedelta(minutes=10)),
        "wrong audience": auditor(audience="another-app"),
        "wrong issuer": mint(
            keys, issuer="http://evil.example", subject="auditor-x", roles=["auditor"]
        ),
        "unknown key": mint(stranger, issuer=issuer, subject="auditor-x", roles=["auditor"]),
        "known key id, other key": mint(
            impostor, issuer=issuer, subject="auditor-x", roles=["auditor"]
        ),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': keys.kid})}.{payload}.",
        "tampered": f"{header}.{forged_payload}.{signature}",
    }


@pytest.mark.parametrize(
    "variant",
    [
        "expired",
        "not yet valid",
        "wrong audience",
        "wrong issuer",
        "unknown key",
        "known key id, other key",
        "alg none",
        "tampered",
    ],
)
async def test_a_bad_token_is_a_401_at_every_service(
    backend: Stack, http: httpx.AsyncClient, variant: str
) -> None:
    bad = {"Authorization": f"Bearer {token_variants(backend)[variant]}"}

    audit = await http.get(entries_url(backend), headers=bad)
    intake = await http.post(
        f"{backend.service_url('intake')}/v1/requests", json=SUBMISSION, headers=bad
    )

    assert audit.status_code == intake.status_code == 401
    assert audit.headers["WWW-Authenticate"].startswith("Bearer")
    assert audit.json()["error"] == "unauthenticated"


async def test_the_good_token_those_variants_start_from_is_accepted(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await http.get(entries_url(backend), headers=tokens("auditor"))

    assert response.status_code == 200


async def test_no_token_is_a_401_and_the_wrong_role_a_403(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    anonymous = await http.get(entries_url(backend))
    verifier = await http.get(entries_url(backend), headers=tokens("verifier"))

    assert anonymous.status_code == 401
    assert verifier.status_code == 403


async def test_a_village_operator_reads_their_village_and_not_another(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    intake = backend.service_url("intake")
    own = tokens("village_operator", village=VILLAGE, subject="operator-desa-1")
    other = tokens("village_operator", village="3516010002", subject="operator-desa-2")

    submitted = await http.post(f"{intake}/v1/requests", json=SUBMISSION, headers=own)
    by_own = await http.get(f"{intake}{submitted.headers['Location']}", headers=own)
    by_other = await http.get(f"{intake}{submitted.headers['Location']}", headers=other)

    assert submitted.status_code == 202
    assert by_own.status_code == 200
    assert by_own.json()["applicant"]["nik"] == SUBMISSION["nik"]
    assert by_other.status_code == 403

    request_id = submitted.json()["request_id"]

    async def submitted_entry() -> list[dict[str, Any]]:
        return [
            entry
            for entry in await audit_entries(http, backend, subject=request_id)
            if entry["event_type"] == RequestSubmitted.event_type
        ]

    [entry] = await eventually(submitted_entry, what="the submission in the audit log")
    assert entry["data"]["actor"] == {
        "kind": "operator",
        "id": "operator-desa-1",
        "role": "village_operator",
        "village": VILLAGE,
        "service_point": None,
        "channel": "api",
    }


async def test_a_citizen_signs_in_by_sms_and_sees_only_their_own_requests(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    intake = backend.service_url("intake")
    mine = SUBMISSION | {"phone": "085700000101"}
    theirs = SUBMISSION | {"phone": "085700000102"}
    my_request = (await http.post(f"{intake}/v1/requests", json=mine)).json()
    their_request = (await http.post(f"{intake}/v1/requests", json=theirs)).json()

    citizen = await sign_in(http, backend, "+6285700000101")
    own = await http.get(f"{intake}/v1/requests/{my_request['request_id']}", headers=citizen)
    other = await http.get(f"{intake}/v1/requests/{their_request['request_id']}", headers=citizen)
    elsewhere = await http.get(entries_url(backend), headers=citizen)

    assert own.status_code == 200
    assert own.json()["applicant"]["phone"] == "+62********101"
    assert other.status_code == 404
    assert other.json() == {"error": "not_found", "message": "Permohonan tidak ditemukan."}
    assert elsewhere.status_code == 401


async def test_five_wrong_codes_lock_the_phone_out(backend: Stack, http: httpx.AsyncClient) -> None:
    intake = backend.service_url("intake")
    phone = "+6285700000201"
    asked = await http.post(f"{intake}/v1/auth/otp", json={"phone": phone, "channel": "WHATSAPP"})
    assert asked.status_code == 202

    async def the_code() -> str | None:
        sent = await codes_sent(http, backend, phone)
        return sent[-1] if sent else None

    code = await eventually(the_code, what="the code at the message sink")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    attempts = [
        await http.post(f"{intake}/v1/auth/otp/verify", json={"phone": phone, "code": wrong})
        for _ in range(5)
    ]
    right = await http.post(f"{intake}/v1/auth/otp/verify", json={"phone": phone, "code": code})
    again = await http.post(f"{intake}/v1/auth/otp", json={"phone": phone, "channel": "SMS"})

    assert [response.status_code for response in attempts] == [400, 400, 400, 400, 429]
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 14 * 60
    assert again.status_code == 429
    assert await codes_sent(http, backend, phone) == [code]


async def test_a_citizen_without_a_token_follows_a_request_by_tracking_number(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    intake = backend.service_url("intake")
    submitted = (await http.post(f"{intake}/v1/requests", json=SUBMISSION)).json()

    found = await http.post(
        f"{intake}/v1/lookup",
        json={"tracking_number": submitted["tracking_number"], "nik_last4": "0001"},
    )
    wrong = await http.post(
        f"{intake}/v1/lookup",
        json={"tracking_number": submitted["tracking_number"], "nik_last4": "9999"},
    )

    assert found.status_code == 200
    assert found.json()["request_id"] == submitted["request_id"]
    assert found.json()["applicant"] is None
    assert wrong.status_code == 404


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
