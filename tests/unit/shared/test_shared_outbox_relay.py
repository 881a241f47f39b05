"""The relay's hand-over path: what writers hand over is published without reading it back."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.results import BulkWriteResult

from shared.events.envelope import CloudEvent, KafkaHeaders
from shared.events.topics import REQUESTS
from shared.mongo import UNPUBLISHED, Document, OutboxRelay, outbox_entry
from tests.builders import cipher, event_keys, opened, request_submitted, wrapped


class StoredOutboxes:
    """The part of a collection the relay uses, holding each document's outbox."""

    name = "requests"

    def __init__(self) -> None:
        self.outboxes: dict[str, list[Document]] = {}
        self.reads: list[str] = []

    def store(self, document_id: str, events: list[CloudEvent]) -> None:
        self.outboxes.setdefault(document_id, []).extend(outbox_entry(e, cipher()) for e in events)

    async def find_one(self, query: Document, projection: Document) -> Document | None:
        self.reads.append(query["_id"])
        outbox = self.outboxes.get(query["_id"])
        return None if outbox is None else {"_id": query["_id"], "outbox": list(outbox)}

    async def bulk_write(self, requests: list[Any], ordered: bool) -> BulkWriteResult:
        matched = 0
        for request in requests:
            document_id = request._filter["_id"]
            outbox = self.outboxes.get(document_id)
            if outbox is None:
                continue
            if "$pullAll" in request._doc:
                pulled = request._doc["$pullAll"]["outbox"]
                self.outboxes[document_id] = [i for i in outbox if i not in pulled]
                matched += 1
            elif outbox == request._filter["outbox"]:
                assert request._doc["$set"] == {"outbox": [], UNPUBLISHED: False}
                self.outboxes[document_id] = []
                matched += 1
        return BulkWriteResult({"nMatched": matched}, acknowledged=True)


class SentMessages:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.values: list[bytes] = []
        self.headers: list[KafkaHeaders] = []

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: KafkaHeaders
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key))
        self.values.append(value)
        self.headers.append(list(headers))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def relay(collection: StoredOutboxes, producer: SentMessages, **options: int) -> OutboxRelay:
    return OutboxRelay(
        collection=cast(AsyncCollection[Document], collection),
        producer=cast(AIOKafkaProducer, producer),
        cipher=cipher(),
        keys=event_keys(),
        **options,
    )


def events(request_id: str, count: int) -> list[CloudEvent]:
    return [wrapped(request_submitted(request_id)) for _ in range(count)]


async def test_handed_over_items_are_published_in_order_without_reading_back() -> None:
    stored, producer = StoredOutboxes(), SentMessages()
    outbox_relay = relay(stored, producer)
    first, second = events("req-1", 2), events("req-1", 1)
    for batch in (first, second):
        stored.store("req-1", batch)
        outbox_relay.wake("req-1", batch)

    assert await outbox_relay.publish(["req-1"]) == 3

    assert stored.reads == []
    assert producer.sent == [(REQUESTS.name, b"req-1")] * 3
    assert [opened(value) for value in producer.values] == first + second
    assert producer.headers == [[("content-type", b"application/cloudevents+json")]] * 3
    assert stored.outboxes["req-1"] == []
    assert await outbox_relay.publish(["req-1"]) == 0
    assert stored.reads == ["req-1"]


async def test_a_wake_without_the_events_reads_the_document_back() -> None:
    stored, producer = StoredOutboxes(), SentMessages()
    outbox_relay = relay(stored, producer)
    written = events("req-1", 2)
    stored.store("req-1", written)
    outbox_relay.wake("req-1")

    assert await outbox_relay.publish(["req-1"]) == 2

    assert stored.reads == ["req-1"]
    assert [opened(value) for value in producer.values] == written
    assert stored.outboxes["req-1"] == []


async def test_past_its_limit_the_relay_reads_back_and_keeps_each_documents_order() -> None:
    stored, producer = StoredOutboxes(), SentMessages()
    outbox_relay = relay(stored, producer, max_held_documents=1)
    held, over, later = events("req-1", 1), events("req-2", 1), events("req-2", 1)
    stored.store("req-1", held)
    outbox_relay.wake("req-1", held)
    stored.store("req-2", over)
    outbox_relay.wake("req-2", over)
    stored.store("req-2", later)
    outbox_relay.wake("req-2", later)

    assert await outbox_relay.publish(["req-1", "req-2"]) == 3

    assert stored.reads == ["req-2"]
    assert [key for _, key in producer.sent] == [b"req-1", b"req-2", b"req-2"]
    assert stored.outboxes == {"req-1": [], "req-2": []}
