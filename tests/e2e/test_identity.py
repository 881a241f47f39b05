"""Identity and access on the running services, with tokens from the local OpenID issuer and
citizens signed in by a one-time code that travels through notify to the message sink."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.issuer import SigningKeys, mint
from devstack.stack import Stack
from services.intake.conversations.routes import SMS_WEBHOOK_PATH
from shared.events.models.requests import RequestSubmitted
from shared.signatures import timestamped_signature
from tests.e2e.conftest import (
    SUBMISSION,
    audit_entries,
    codes_sent,
    sign_in,
    sink_messages,
)
from tests.polling import eventually

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


async def ask_code(
    http: httpx.AsyncClient, stack: Stack, phone: str, *, after_s: float = 1.1
) -> tuple[str, httpx.Response]:
    """A new code for `phone` once the stack's resend wait (1 s) is over, as the sink got it."""
    await asyncio.sleep(after_s)
    before = len(await codes_sent(http, stack, phone))
    asked = await http.post(
        f"{stack.service_url('intake')}/v1/auth/otp", json={"phone": phone, "channel": "SMS"}
    )
    assert asked.status_code == 202, asked.text

    async def newest() -> str | None:
        sent = await codes_sent(http, stack, phone)
        return sent[-1] if len(sent) > before else None

    return await eventually(newest, what="the code at the message sink"), asked


async def verify(http: httpx.AsyncClient, stack: Stack, phone: str, code: str) -> httpx.Response:
    return await http.post(
        f"{stack.service_url('intake')}/v1/auth/otp/verify", json={"phone": phone, "code": code}
    )


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_wrong_codes_add_up_across_new_codes_and_each_lockout_lasts_longer(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    """The stack locks out for 3 s at first (INTAKE_SIGN_IN_FIRST_LOCKOUT_S); production, 15
    minutes."""
    phone = "+6285700000201"
    first, _ = await ask_code(http, backend, phone, after_s=0)
    four = [await verify(http, backend, phone, other_than(first)) for _ in range(4)]
    second, _ = await ask_code(http, backend, phone)

    fifth = await verify(http, backend, phone, other_than(second))
    right = await verify(http, backend, phone, second)
    await asyncio.sleep(3.1)
    third, _ = await ask_code(http, backend, phone, after_s=0)
    five_more = [await verify(http, backend, phone, other_than(third)) for _ in range(5)]

    assert [response.status_code for response in four] == [400] * 4
    assert fifth.status_code == 429
    assert fifth.json()["error"] == "locked_out"
    assert fifth.headers["Retry-After"] == "3"
    assert right.status_code == 429
    assert [response.status_code for response in five_more] == [400] * 4 + [429]
    assert five_more[-1].headers["Retry-After"] == "6"
    assert await codes_sent(http, backend, phone) == [first, second, third]


async def test_the_owner_ends_a_lockout_by_sending_the_code_back_by_sms(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    phone = "+6285700000202"
    code, _ = await ask_code(http, backend, phone, after_s=0)
    for _ in range(5):
        await verify(http, backend, phone, other_than(code))
    proof, while_locked = await ask_code(http, backend, phone)
    refused = await verify(http, backend, phone, proof)

    delivered = await send_sms(http, backend, phone, f"MASUK {proof}")

    async def answered() -> list[str]:
        return [
            message["text"]
            for message in await sink_messages(http, backend)
            if message["to"] == phone and "tidak terkunci lagi" in message["text"]
        ]

    await eventually(answered, what="the answer to MASUK at the message sink")
    fresh, after = await ask_code(http, backend, phone)
    signed_in = await verify(http, backend, phone, fresh)

    assert while_locked.json()["locked_until"] is not None
    assert refused.status_code == 429
    assert delivered.status_code == 200
    assert after.json()["locked_until"] is None
    assert signed_in.status_code == 200, signed_in.text


async def test_a_phone_is_sent_no_more_codes_an_hour_than_its_cap(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    phone = "+6285700000203"
    intake = backend.service_url("intake")

    async def ask() -> httpx.Response:
        return await http.post(f"{intake}/v1/auth/otp", json={"phone": phone, "channel": "SMS"})

    first = await ask()
    too_soon = await ask()
    rest = []
    for _ in range(4):
        await asyncio.sleep(1.1)
        rest.append(await ask())
    await asyncio.sleep(1.1)
    sixth = await ask()

    assert first.status_code == 202
    assert too_soon.status_code == 429
    assert too_soon.json()["error"] == "try_later"
    assert too_soon.headers["Retry-After"] == "1"
    assert [response.status_code for response in rest] == [202] * 4
    assert sixth.status_code == 429
    assert sixth.json()["error"] == "try_later"
    assert 3500 < int(sixth.headers["Retry-After"]) <= 3600


async def send_sms(http: httpx.AsyncClient, stack: Stack, phone: str, text: str) -> httpx.Response:
    """Delivers a text from `phone` as the SMS gateway does, signed with the shared secret."""
    body = json.dumps({"message_id": f"sms-{uuid.uuid4()}", "from": phone, "text": text}).encode()
    timestamp = str(int(time.time()))
    secret = stack.service_secret("INTAKE_SMS_WEBHOOK_SECRET").encode()
    return await http.post(
        f"{stack.service_url('intake')}{SMS_WEBHOOK_PATH}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Sms-Timestamp": timestamp,
            "X-Sms-Signature": timestamped_signature(secret, timestamp, body),
        },
    )


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
