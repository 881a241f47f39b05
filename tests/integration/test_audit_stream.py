"""The auditors' live stream and the entries topic on the real FerretDB and Kafka: the relay
publishes the log in index order and picks up after a restart with no gap; the stream, served by
uvicorn over the real log, resumes exactly after `Last-Event-ID` and carries live entries, those
appended by another instance included."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from services.audit.adapters.kafka_entries import KafkaEntriesTopic
from services.audit.adapters.mongo_log import MongoLogEntries
from services.audit.adapters.mongo_published import MongoPublishedPosition
from services.audit.adapters.mongo_tree import MongoCheckpoints, MongoTreeNodes
from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.domain.entry import LogEntry, canonical_json
from services.audit.entrypoints.api import AuditContext
from services.audit.service_layer.entries_topic import EntryRelay
from services.audit.service_layer.stream import LogFeed
from shared.dependencies import provide
from shared.events.topics import Topic
from shared.http.app import ReadinessCheck
from shared.kafka import KafkaAccess
from shared.mongo import Document
from tests.auth import STAFF_KEYS, bearer
from tests.contracts.audit import SIGNER, log_entries
from tests.integration.conftest import TopicFactory, read_all
from tests.polling import eventually
from tests.unit.audit.test_audit_stream_sse import parse_events


async def appended(db: AsyncDatabase[Document], entries: Sequence[LogEntry]) -> None:
    """Appends as another audit instance would: through its own adapter, waking nobody here."""
    log = MongoLogEntries(db["entries"])
    assert await log.append(entries) == len(entries)


async def relay(
    db: AsyncDatabase[Document], producer: AIOKafkaProducer, topic: Topic
) -> EntryRelay:
    """A relay as a fresh audit process builds it: nothing remembered but the database, where
    it looks up the log's end."""
    log = MongoLogEntries(db["entries"])
    await log.size()
    return EntryRelay(
        log=log,
        topic=KafkaEntriesTopic(producer, topic),
        position=MongoPublishedPosition(db["published"]),
        batch=7,
    )


def records_of(raw: Sequence[Any]) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in raw]


def leaf_of(record: dict[str, Any]) -> str:
    digest = hashlib.sha256(b"\x00" + canonical_json(record["entry"])).digest()
    return base64.b64encode(digest).decode()


async def test_the_relay_publishes_the_log_in_index_order_and_resumes_without_a_gap(
    mongo_db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    new_topic: TopicFactory,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic(partitions=1)
    entries = log_entries(*[f"req-{n % 4}" for n in range(30)], data={"note": "Désa"})
    await appended(mongo_db, entries[:20])

    assert await (await relay(mongo_db, producer, topic)).run() == 20
    await appended(mongo_db, entries[20:])
    assert await (await relay(mongo_db, producer, topic)).run() == 10
    assert await (await relay(mongo_db, producer, topic)).run() == 0

    raw = await read_all(kafka, topic, 30)
    records = records_of(raw)
    assert [record.key for record in raw] == [str(n).encode() for n in range(30)]
    assert [record["index"] for record in records] == list(range(30))
    assert [LogEntry.from_fields(record["entry"]) for record in records] == entries
    assert all(record["leaf_hash"] == leaf_of(record) for record in records)
    assert await MongoPublishedPosition(mongo_db["published"]).get() == 30


class CrashBeforeRecording(MongoPublishedPosition):
    async def advance(self, *, from_index: int, to_index: int) -> bool:
        raise ConnectionError("process killed after publishing")


async def test_entries_published_before_a_crash_come_again_in_order_and_none_is_lost(
    mongo_db: AsyncDatabase[Document],
    producer: AIOKafkaProducer,
    new_topic: TopicFactory,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic(partitions=1)
    entries = log_entries(*[f"req-{n}" for n in range(10)])
    await appended(mongo_db, entries)
    log = MongoLogEntries(mongo_db["entries"])
    await log.size()
    crashing = EntryRelay(
        log=log,
        topic=KafkaEntriesTopic(producer, topic),
        position=CrashBeforeRecording(mongo_db["published"]),
        batch=7,
    )

    with pytest.raises(ConnectionError):
        await crashing.run()
    assert await (await relay(mongo_db, producer, topic)).run() == 10

    raw = await read_all(kafka, topic, 17)
    indexes = [record["index"] for record in records_of(raw)]
    assert indexes == [*range(7), *range(10)]
    deduplicated: list[int] = []
    for index in indexes:
        if not deduplicated or index > deduplicated[-1]:
            deduplicated.append(index)
    assert deduplicated == list(range(10))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def served(db: AsyncDatabase[Document], feed: LogFeed) -> AsyncIterator[str]:
    """Audit's app on uvicorn, over the real log, with the given feed."""

    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            AuditContext(
                entries=MongoLogEntries(db["entries"]),
                nodes=MongoTreeNodes(db["tree_nodes"]),
                checkpoints=MongoCheckpoints(db["latest"], db["checkpoints"]),
                signer=SIGNER,
            ),
        )
        provide(app, feed)
        try:
            yield {}
        finally:
            await feed.stop()

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, what="the server started", timeout_s=5)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


class EventReader:
    """Reads a stream's events as they arrive, keeping every one read so far."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_text()
        self._pending = ""
        self.events: list[dict[str, str]] = []

    async def until(self, count: int) -> list[dict[str, str]]:
        async with asyncio.timeout(20):
            while len(self.events) < count:
                self._pending += await anext(self._chunks)
                complete, _, self._pending = self._pending.rpartition("\n\n")
                self.events += parse_events(complete + "\n\n")
        return list(self.events)


def new_feed(db: AsyncDatabase[Document], max_followers: int = 5) -> LogFeed:
    return LogFeed(
        log=MongoLogEntries(db["entries"]),
        max_followers=max_followers,
        poll_interval_s=0.2,
        heartbeat_s=0.5,
    )


async def test_a_resumed_stream_gets_exactly_the_following_entries_then_live_ones(
    mongo_db: AsyncDatabase[Document],
) -> None:
    entries = log_entries(*[f"req-{n}" for n in range(8)])
    await appended(mongo_db, entries[:5])
    feed = new_feed(mongo_db)
    async with (
        served(mongo_db, feed) as url,
        httpx.AsyncClient(base_url=url, headers=bearer("auditor"), timeout=20) as client,
        client.stream("GET", "/v1/audit/stream", headers={"Last-Event-ID": "2"}) as response,
    ):
        reader = EventReader(response)
        stored = await reader.until(2)
        await appended(mongo_db, entries[5:7])
        feed.appended(entries[5:7])
        live = await reader.until(4)
        await appended(mongo_db, entries[7:])
        elsewhere = await reader.until(5)
        page = await client.get("/v1/audit/entries", params={"after_sequence": 3})

    assert response.headers["content-type"].startswith("text/event-stream")
    assert [event["id"] for event in stored] == ["3", "4"]
    assert [event["id"] for event in live] == ["3", "4", "5", "6"]
    assert [event["id"] for event in elsewhere] == ["3", "4", "5", "6", "7"]
    assert [json.loads(event["data"]) for event in elsewhere] == page.json()["entries"]


async def test_a_quiet_stream_sends_heartbeats_and_a_client_leaving_frees_its_place(
    mongo_db: AsyncDatabase[Document],
) -> None:
    await appended(mongo_db, log_entries("req-1"))
    feed = new_feed(mongo_db, max_followers=1)
    async with (
        served(mongo_db, feed) as url,
        httpx.AsyncClient(base_url=url, headers=bearer("auditor"), timeout=20) as client,
    ):
        async with client.stream("GET", "/v1/audit/stream") as response:
            first = ""
            async with asyncio.timeout(5):
                async for chunk in response.aiter_text():
                    first += chunk
                    if first.count(": keep-alive") >= 2:
                        break
            refused = await client.get("/v1/audit/stream")
        await eventually(lambda: feed.followers == 0, what="the followers gone", timeout_s=5)

    assert parse_events(first) == []
    assert refused.status_code == 503
