"""The auditors' live stream through the whole stack: a request submitted through intake shows up
on the server-sent event stream and on the entries topic, each with a leaf hash the auditor
recomputes with code of their own; only auditors may follow; hostile resume points are refused.

The generic contract run leaves the endless stream out (`test_api_contracts.py`); the hostile
input it would have sent is here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from devstack.stack import Stack
from shared.events.models.requests import RequestSubmitted
from shared.kafka_acls import AUDITORS
from tests.e2e.conftest import SUBMISSION, auditor
from tests.unit.audit.test_audit_stream_sse import parse_events

ENTRIES_TOPIC = "adminduk.audit-log.v1"
HASHED_FIELDS = (
    "index",
    "event_id",
    "event_type",
    "source",
    "subject",
    "event_time",
    "recorded_at",
    "data",
)


def leaf_hash(entry: dict[str, Any]) -> str:
    """SHA-256(0x00 || canonical JSON of the entry's fields), base64, as the README defines it."""
    fields = {name: entry[name] for name in HASHED_FIELDS}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(hashlib.sha256(b"\x00" + canonical.encode()).digest()).decode()


def stream_url(stack: Stack) -> str:
    return f"{stack.service_url('audit')}/v1/audit/stream"


async def next_event(
    response: httpx.Response, chunks: Any, wanted: Callable[[dict[str, str]], bool]
) -> dict[str, str]:
    """Reads the stream until an event `wanted` accepts; 60 s at most."""
    text = ""
    async with asyncio.timeout(60):
        async for chunk in chunks:
            text += chunk
            complete, _, text = text.rpartition("\n\n")
            for event in parse_events(complete + "\n\n"):
                if wanted(event):
                    return event
    raise AssertionError(f"the stream ended ({response.status_code})")


def about(request_id: str) -> Callable[[dict[str, str]], bool]:
    def wanted(event: dict[str, str]) -> bool:
        data = json.loads(event["data"])
        return bool(
            data["subject"] == request_id and data["event_type"] == RequestSubmitted.event_type
        )

    return wanted


async def topic_record_of(stack: Stack, request_id: str) -> tuple[dict[str, Any], list[int]]:
    """The entries topic's record of the request's submission, and every index read before it."""
    consumer = AIOKafkaConsumer(
        ENTRIES_TOPIC,
        **stack.kafka_access(AUDITORS).client_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    indexes: list[int] = []
    try:
        async with asyncio.timeout(60):
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for record in (r for records in batches.values() for r in records):
                    value = json.loads(record.value)
                    assert record.key == str(value["index"]).encode()
                    indexes.append(value["index"])
                    entry = value["entry"]
                    if entry["subject"] == request_id and entry["event_type"] == (
                        RequestSubmitted.event_type
                    ):
                        return value, indexes
    finally:
        await consumer.stop()


async def test_a_submitted_request_is_streamed_and_published_with_a_verifiable_leaf(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
        client.stream("GET", stream_url(backend), headers=auditor(backend)) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = response.aiter_text()
        submitted = await http.post(
            f"{backend.service_url('intake')}/v1/requests",
            json=SUBMISSION,
            headers={"Idempotency-Key": "audit-stream-e2e-1"},
        )
        assert submitted.status_code == 202, submitted.text
        request_id = submitted.json()["request_id"]
        event = await next_event(response, chunks, about(request_id))

    streamed = json.loads(event["data"])
    assert event["event"] == "entry"
    assert event["id"] == str(streamed["index"])
    assert streamed["leaf_hash"] == leaf_hash(streamed)
    record, indexes = await topic_record_of(backend, request_id)
    assert record["index"] == streamed["index"]
    assert record["leaf_hash"] == streamed["leaf_hash"] == leaf_hash(record["entry"])
    assert {name: streamed[name] for name in HASHED_FIELDS} == record["entry"]
    assert indexes == sorted(indexes), "the topic holds the log in index order"

    from_it = await first_event(backend, params={"from": streamed["index"]})
    after_it = await first_event(backend, headers={"Last-Event-ID": event["id"]})
    assert json.loads(from_it["data"]) == streamed
    assert after_it["id"] == str(streamed["index"] + 1), "the request's next step comes after"


async def first_event(stack: Stack, **request: Any) -> dict[str, str]:
    headers = {**auditor(stack), **request.pop("headers", {})}
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client,
        client.stream("GET", stream_url(stack), headers=headers, **request) as response,
    ):
        assert response.status_code == 200, await response.aread()
        return await next_event(response, response.aiter_text(), lambda event: True)


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("supervisor", 403), ("verifier", 403), ("operator", 403)]
)
async def test_only_auditors_may_follow_the_log(
    backend: Stack,
    http: httpx.AsyncClient,
    tokens: Callable[..., dict[str, str]],
    role: str | None,
    status: int,
) -> None:
    headers = {} if role is None else tokens(role, service_point="KANTOR_DINAS")

    response = await http.get(stream_url(backend), headers=headers)

    assert response.status_code == status


@pytest.mark.parametrize(
    "headers",
    [
        {"Last-Event-ID": "-1"},
        {"Last-Event-ID": "abc"},
        {"Last-Event-ID": "1e3"},
        {"Last-Event-ID": "9" * 30},
        {"Last-Event-ID": "7" * 41},
        {"Last-Event-ID": "9223372036854775807"},
        {"Last-Event-ID": "9223372036854775806"},
    ],
)
async def test_a_bad_last_event_id_is_refused_with_a_reason(
    backend: Stack, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.get(stream_url(backend), headers={**auditor(backend), **headers})

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    assert [detail["field"] for detail in body["details"]] == ["header.last-event-id"]
    assert body["details"][0]["reason"]


@pytest.mark.parametrize(
    "start", ["-1", "x", "1.5", "", "9223372036854775807", "9" * 30, "9223372036854775806"]
)
async def test_a_bad_from_is_refused_with_a_reason(
    backend: Stack, http: httpx.AsyncClient, start: str
) -> None:
    response = await http.get(stream_url(backend), params={"from": start}, headers=auditor(backend))

    assert response.status_code == 422, response.text
    assert [detail["field"] for detail in response.json()["details"]] == ["query.from"]


async def test_the_published_document_describes_the_stream(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    document = (await http.get(f"{backend.service_url('audit')}/openapi.json")).json()

    operation = document["paths"]["/v1/audit/stream"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "403", "422", "503"}
    assert "text/event-stream" in operation["responses"]["200"]["content"]
