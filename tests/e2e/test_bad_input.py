"""Refused submissions get a clear 4xx and leave nothing stored and nothing published."""

from __future__ import annotations

import asyncio
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
}


async def requests_topic_end_offsets(stack: Stack) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(REQUESTS.name, p) for p in range(REQUESTS.partitions)]
        offsets = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(offsets.values())


async def stored_requests(stack: Stack) -> int:
    client = new_mongo_client(stack.mongo_url)
    try:
        return await client["adminduk_intake"]["requests"].count_documents({})
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
    await asyncio.sleep(1.5)
    assert await stored_requests(backend) == stored_before
    assert await requests_topic_end_offsets(backend) == published_before
