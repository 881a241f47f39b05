"""`GET /v1/audit/stream` over in-memory fakes: refusals are clear 4xx/503 answers before any
event is sent, and a stream carries the entries as `GET /v1/audit/entries` gives them.

The test transport returns a response once it has ended, so each stream here is ended by
stopping the feed, as the service does when it shuts down.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.entrypoints.api import AuditContext
from services.audit.service_layer.stream import LogFeed
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.contracts.audit import SIGNER, log_entries
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes
from tests.polling import eventually
from tests.unit.audit.test_audit_stream_sse import parse_events

STREAM = "/v1/audit/stream"


@asynccontextmanager
async def stream_api(
    log: FakeLogEntries, feed: LogFeed | None, role: str = "auditor"
) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            AuditContext(
                entries=log, nodes=FakeTreeNodes(), checkpoints=FakeCheckpoints(), signer=SIGNER
            ),
        )
        if feed is not None:
            provide(app, feed)
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://audit.test",
            headers=bearer(role),
        ) as client,
    ):
        yield client


def feed_over(log: FakeLogEntries, max_followers: int = 5) -> LogFeed:
    return LogFeed(log=log, max_followers=max_followers, poll_interval_s=0.05, heartbeat_s=30)


async def filled(count: int) -> FakeLogEntries:
    log = FakeLogEntries()
    await log.append(log_entries(*[f"req-{n}" for n in range(count)]))
    return log


async def until_followed(feed: LogFeed) -> None:
    await eventually(lambda: feed.followers > 0, what="a follower of the log", timeout_s=5)


async def streamed(
    client: httpx.AsyncClient, log: FakeLogEntries, feed: LogFeed, **request: Any
) -> tuple[httpx.Response, list[dict[str, str]]]:
    """The response to a stream request, ended by stopping the feed once it has sent the log."""
    answer = asyncio.create_task(client.get(STREAM, **request))
    await until_followed(feed)
    await log.read_through()
    await feed.stop()
    response = await answer
    return response, parse_events(response.text)


async def test_a_stream_resumed_after_an_id_gets_exactly_the_entries_after_it() -> None:
    log = await filled(5)
    feed = feed_over(log)
    async with stream_api(log, feed) as client:
        response, events = await streamed(client, log, feed, headers={"Last-Event-ID": "1"})
        entries = (await client.get("/v1/audit/entries", params={"after_sequence": 2})).json()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.startswith("retry: ")
    assert [event["id"] for event in events] == ["2", "3", "4"]
    assert {event["event"] for event in events} == {"entry"}
    assert [json.loads(event["data"]) for event in events] == entries["entries"]


@pytest.mark.parametrize(
    ("request_", "ids"),
    [
        ({"params": {"from": 1}}, ["1", "2", "3"]),
        ({"params": {"from": 0}, "headers": {"Last-Event-ID": "2"}}, ["3"]),
        ({"params": {"from": 4}}, []),
        ({"params": {"from": 3}, "headers": {"Last-Event-ID": ""}}, ["3"]),
    ],
)
async def test_from_names_the_first_index_and_last_event_id_wins_over_it(
    request_: dict[str, Any], ids: list[str]
) -> None:
    log = await filled(4)
    feed = feed_over(log)
    async with stream_api(log, feed) as client:
        _, events = await streamed(client, log, feed, **request_)

    assert [event["id"] for event in events] == ids


async def test_without_a_place_the_stream_starts_at_the_end_and_follows() -> None:
    log = await filled(3)
    feed = feed_over(log)
    more = log_entries("req-new", start=3)
    async with stream_api(log, feed) as client:
        answer = asyncio.create_task(client.get(STREAM))
        await until_followed(feed)
        await log.append(more)
        feed.appended(more)
        await log.read_through()
        await feed.stop()
        events = parse_events((await answer).text)

    assert [(event["id"], json.loads(event["data"])["subject"]) for event in events] == [
        ("3", "req-new")
    ]


@pytest.mark.parametrize("hostile", ["abc", "-1", "1.0", "9" * 19 + "0", "\u0663", "7" * 41])
async def test_a_last_event_id_that_is_no_index_is_refused_with_a_reason(hostile: str) -> None:
    log = await filled(2)
    async with stream_api(log, feed_over(log)) as client:
        response = await client.get(STREAM, headers={b"Last-Event-ID": hostile.encode()})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["details"][0]["field"] == "header.last-event-id"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"headers": {"Last-Event-ID": "3"}}, "header.last-event-id"),
        ({"params": {"from": 4}}, "query.from"),
        ({"params": {"from": -1}}, "query.from"),
        ({"params": {"from": "x"}}, "query.from"),
        ({"params": {"from": 2**63}}, "query.from"),
    ],
)
async def test_a_place_past_the_end_or_out_of_range_is_refused(
    request_: dict[str, Any], field: str
) -> None:
    log = await filled(3)
    async with stream_api(log, feed_over(log)) as client:
        response = await client.get(STREAM, **request_)

    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["details"]] == [field]


async def test_streams_beyond_the_limit_get_503_with_a_reason() -> None:
    log = await filled(1)
    feed = feed_over(log, max_followers=1)
    async with stream_api(log, feed) as client:
        first = asyncio.create_task(client.get(STREAM))
        await until_followed(feed)
        refused = await client.get(STREAM)
        await feed.stop()
        await first

    assert refused.status_code == 503
    assert refused.json()["error"] == "too_many_streams"
    assert refused.headers["retry-after"]


async def test_a_stopped_feed_refuses_new_streams() -> None:
    log = await filled(1)
    feed = feed_over(log)
    await feed.stop()
    async with stream_api(log, feed) as client:
        response = await client.get(STREAM)

    assert response.status_code == 503
    assert response.json()["error"] == "stream_unavailable"


@pytest.mark.parametrize("role", ["supervisor", "verifier", "operator"])
async def test_only_auditors_may_follow_the_log(role: str) -> None:
    log = await filled(1)
    async with stream_api(log, feed_over(log), role=role) as client:
        response = await client.get(STREAM)

    assert response.status_code == 403


async def test_the_stream_is_documented_as_server_sent_events() -> None:
    log = await filled(0)
    async with stream_api(log, feed_over(log)) as client:
        document = (await client.get("/openapi.json")).json()

    operation = document["paths"][STREAM]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"last-event-id", "from"} <= names
