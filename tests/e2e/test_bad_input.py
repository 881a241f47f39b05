"""Refused submissions get a clear 4xx and leave nothing stored and nothing published."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from devstack.stack import Stack
from shared.events.topics import REQUESTS
from shared.mongo import new_mongo_client
from tests.e2e.conftest import SUBMISSION


def with_changes(**changes: Any) -> dict[str, Any]:
    return {**SUBMISSION, **changes}


def raw(content: bytes) -> dict[str, Any]:
    return {"content": content, "headers": {"Content-Type": "application/json"}}


def with_name(name: str) -> dict[str, Any]:
    return {"json": with_changes(name=name)}


KEY = {"Idempotency-Key": "refused-form-key-1"}


BAD_SUBMISSIONS: dict[str, tuple[dict[str, Any], int, str]] = {
    "malformed JSON": ({"content": b'{"service_code": "KK_BARU", '}, 422, "invalid_request"),
    "missing fields": ({"json": {"service_code": "KK_BARU"}}, 422, "invalid_request"),
    "unknown service": ({"json": with_changes(service_code="SIM_A")}, 422, "unknown_service"),
    "in-person service": ({"json": with_changes(service_code="KTP_REKAM")}, 422, "in_person_only"),
    "invalid NIK": ({"json": with_changes(nik="3516093204800001")}, 422, "invalid_request"),
    "short NIK": ({"json": with_changes(nik="35160912")}, 422, "invalid_request"),
    "landline phone": ({"json": with_changes(phone="0321123456")}, 422, "invalid_request"),
    "oversized body": (
        {"json": with_changes(name="A" * 70_000)},
        413,
        "body_too_large",
    ),
    "not JSON at all": (
        {"content": b"nik=3516091204800001", "headers": {"Content-Type": "text/plain"}},
        422,
        "invalid_request",
    ),
    "invalid UTF-8": (
        raw(json.dumps(SUBMISSION).encode().replace(b"Siti", b"Si\xffti")),
        422,
        "invalid_request",
    ),
    "deeply nested JSON": (
        raw(b'{"name": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
        422,
        "invalid_request",
    ),
    "huge integer": (raw(b'{"nik": ' + b"9" * 5000 + b"}"), 422, "invalid_request"),
    "bell and escape in the name": (with_name("Siti\u0007\u001b[31mRed"), 422, "invalid_request"),
    "NUL in the name": (with_name("Siti\u0000Aminah"), 422, "invalid_request"),
    "right-to-left override in the name": (with_name("Siti \u202eanimA"), 422, "invalid_request"),
    "bidi isolate in the name": (with_name("Siti \u2068Aminah\u2069"), 422, "invalid_request"),
    "zero-width space in the name": (with_name("Si\u200bti Aminah"), 422, "invalid_request"),
    "line break in the name": (with_name("Siti\nAminah"), 422, "invalid_request"),
    "tab in the name": (with_name("Siti\tAminah"), 422, "invalid_request"),
    "refused form with an idempotency key": (
        {"json": with_changes(service_code="KTP_REKAM"), "headers": KEY},
        422,
        "in_person_only",
    ),
}


async def requests_topic_end_offsets(stack: Stack) -> int:
    consumer = AIOKafkaConsumer(**stack.kafka_access().client_options())
    await consumer.start()
    try:
        partitions = [TopicPartition(REQUESTS.name, p) for p in range(REQUESTS.partitions)]
        offsets = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(offsets.values())


async def stored_requests(stack: Stack) -> dict[str, int]:
    """Requests (each carrying its outbox) and idempotency keys intake holds."""
    client = new_mongo_client(stack.mongo_url)
    try:
        db = client["adminduk_intake"]
        return {
            name: await db[name].count_documents({}) for name in ("requests", "idempotency_keys")
        }
    finally:
        await client.close()


@pytest.mark.parametrize("case", list(BAD_SUBMISSIONS))
async def test_bad_submission_is_refused_with_a_reason(
    backend: Stack, http: httpx.AsyncClient, case: str
) -> None:
    request, expected_status, expected_error = BAD_SUBMISSIONS[case]
    stored_before = await stored_requests(backend)
    published_before = await requests_topic_end_offsets(backend)

    response = await http.post(f"{backend.service_url('intake')}/v1/requests", **request)

    assert response.status_code == expected_status, response.text
    body = response.json()
    assert body["error"] == expected_error
    assert body["message"]
    assert set(body) <= {"error", "message", "details"}
    await asyncio.sleep(1.5)
    assert await stored_requests(backend) == stored_before
    assert await requests_topic_end_offsets(backend) == published_before


async def test_a_request_id_is_read_in_any_spelling_of_its_uuid(
    backend: Stack, http: httpx.AsyncClient, tokens: Callable[..., dict[str, str]]
) -> None:
    intake = backend.service_url("intake")
    counter = tokens("counter_officer", service_point="KANTOR_DINAS")
    submitted = await http.post(f"{intake}/v1/requests", json=SUBMISSION, headers=counter)
    request_id = uuid.UUID(submitted.json()["request_id"])

    spellings = [str(request_id), str(request_id).upper(), f"{{{request_id}}}"]
    found = [
        await http.get(f"{intake}/v1/requests/{spelling}", headers=counter)
        for spelling in spellings
    ]
    malformed = await http.get(f"{intake}/v1/requests/{str(request_id)[:-1]}", headers=counter)

    assert [response.status_code for response in found] == [200, 200, 200]
    assert {response.json()["request_id"] for response in found} == {str(request_id)}
    assert malformed.status_code == 422
    assert malformed.json()["details"][0]["field"] == "path.request_id"
