from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.envelope import CloudEvent, KafkaHeaders
from shared.events.topics import Topic
from shared.kafka import KafkaAccess
from shared.mongo import (
    PENDING_INDEX,
    PENDING_OUTBOX,
    UNPUBLISHED,
    VERSION,
    Document,
    OutboxRelay,
    insert_new,
    outbox_entry,
    update_document,
)
from tests.builders import cipher, event_keys, request_submitted, wrapped
from tests.integration.conftest import TopicFactory, read_all


def outbox_of(topic: Topic, subject: str, count: int) -> list[Document]:
    """`count` sealed items for `topic`, as the repositories queue them."""
    events = [wrapped(request_submitted(subject)) for _ in range(count)]
    return [outbox_entry(event, cipher()) | {"topic": topic.name} for event in events]


def stored(document_id: str, outbox: list[Document]) -> Document:
    """A document as the repositories store it: marked unpublished while it holds items."""
    return {"_id": document_id, "outbox": outbox, UNPUBLISHED: bool(outbox)}


def relay_of(collection: AsyncCollection[Document], producer: AIOKafkaProducer) -> OutboxRelay:
    return OutboxRelay(collection=collection, producer=producer, cipher=cipher(), keys=event_keys())


class CountingReads:
    """A collection that notes the `_id` of every document its queries return."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection
        self.returned: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    async def find(self, *args: Any, **kwargs: Any) -> AsyncIterator[Document]:
        async for document in self._collection.find(*args, **kwargs):
            self.returned.append(document["_id"])
            yield document


class WritingWhileSending:
    """A producer that runs `write` once, as the first item is sent: a writer adding to an
    outbox between the relay's read and its clearing write."""

    def __init__(self, producer: AIOKafkaProducer, write: Callable[[], Awaitable[object]]) -> None:
        self._producer = producer
        self._write: Callable[[], Awaitable[object]] | None = write

    async def send(
        self, topic: str, value: bytes, key: bytes, headers: KafkaHeaders
    ) -> asyncio.Future[Any]:
        if self._write is not None:
            write, self._write = self._write, None
            await write()
        delivery: asyncio.Future[Any] = await self._producer.send(
            topic, value, key=key, headers=headers
        )
        return delivery


async def test_publish_sends_items_in_order_with_their_key_then_removes_them(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic(partitions=3)
    collection = mongo_db["requests"]
    outbox = outbox_of(topic, "req-1", 5)
    await insert_new(collection, stored("req-1", outbox))
    await insert_new(collection, stored("req-2", outbox_of(topic, "req-2", 1)))
    relay = relay_of(collection, producer)

    assert await relay.publish(["req-1", "unknown"]) == 5
    assert await relay.publish(["req-1"]) == 0

    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["outbox"] == []
    assert document[UNPUBLISHED] is False
    records = await read_all(kafka, topic, expected=5)
    published = [CloudEvent.from_json_bytes(r.value) for r in records]
    assert [event.id for event in published] == [item["id"] for item in outbox]
    assert all(event.subject == "req-1" for event in published)
    assert {r.key for r in records} == {b"req-1"}
    assert len({r.partition for r in records}) == 1
    assert await collection.count_documents(PENDING_OUTBOX) == 1


async def test_items_added_while_publishing_stay_marked_and_the_next_sweep_sends_them(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic()
    collection = mongo_db["cases"]
    first, later = outbox_of(topic, "a", 2), outbox_of(topic, "a", 1)
    await insert_new(collection, stored("a", first))

    async def add_later() -> None:
        added = {"$push": {"outbox": {"$each": later}}, "$set": {UNPUBLISHED: True}}
        assert await update_document(collection, "a", added)

    sending = cast(AIOKafkaProducer, WritingWhileSending(producer, add_later))
    relay = relay_of(collection, sending)

    assert await relay.publish(["a"]) == 2
    document = await collection.find_one({"_id": "a"})
    assert document is not None
    assert (document["outbox"], document[UNPUBLISHED]) == (later, True)

    assert await relay.sweep() == 1
    document = await collection.find_one({"_id": "a"})
    assert document is not None
    assert (document["outbox"], document[UNPUBLISHED]) == ([], False)
    records = await read_all(kafka, topic, expected=3)
    published = [CloudEvent.from_json_bytes(r.value).id for r in records]
    assert published == [item["id"] for item in first + later]


async def test_the_sweep_reads_only_the_documents_with_items_through_its_index(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic()
    collection = mongo_db["requests"]
    await collection.insert_many([{**stored(f"published-{n}", []), VERSION: 2} for n in range(500)])
    await insert_new(collection, stored("wake-lost", outbox_of(topic, "x", 1)))
    reads = CountingReads(collection)
    relay = relay_of(cast(AsyncCollection[Document], reads), producer)

    assert await relay.sweep() == 1
    assert await relay.sweep() == 0

    assert reads.returned == ["wake-lost"]
    assert len(await read_all(kafka, topic, expected=1)) == 1
    plan = await mongo_db.command(
        "explain", {"find": collection.name, "filter": PENDING_OUTBOX, "projection": {"outbox": 1}}
    )
    # MongoDB names the index it scans; the local engine, its PostgreSQL twin.
    assert PENDING_INDEX in str(plan)


async def test_the_sweep_unmarks_a_document_left_marked_with_nothing_to_send(
    mongo_db: AsyncDatabase[Document], producer: AIOKafkaProducer
) -> None:
    collection = mongo_db["requests"]
    await insert_new(collection, {"_id": "emptied", "outbox": [], UNPUBLISHED: True})
    reads = CountingReads(collection)
    relay = relay_of(cast(AsyncCollection[Document], reads), producer)

    assert await relay.sweep() == 0
    assert await relay.sweep() == 0

    assert reads.returned == ["emptied"]
    assert await collection.count_documents(PENDING_OUTBOX) == 0


async def test_the_sweep_publishes_what_no_one_asked_for(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic()
    collection = mongo_db["cases"]
    await insert_new(collection, stored("a", outbox_of(topic, "a", 2)))
    await insert_new(collection, stored("b", []))
    await insert_new(collection, stored("c", outbox_of(topic, "c", 1)))
    relay = relay_of(collection, producer)
    before = REGISTRY.get_sample_value("adminduk_outbox_published_total", {"collection": "cases"})

    assert await relay.sweep() == 3
    assert await relay.sweep() == 0
    assert len(await read_all(kafka, topic, expected=3)) == 3
    after = REGISTRY.get_sample_value("adminduk_outbox_published_total", {"collection": "cases"})
    assert (after or 0) - (before or 0) == 3


async def test_a_running_relay_sweeps_at_start_publishes_when_woken_and_flushes_on_stop(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic()
    collection = mongo_db["cases"]
    await insert_new(collection, stored("left-by-a-crash", outbox_of(topic, "x", 1)))
    relay = OutboxRelay(
        collection=collection,
        producer=producer,
        cipher=cipher(),
        keys=event_keys(),
        sweep_interval_s=300,
    )
    await relay.start()
    try:
        assert len(await read_all(kafka, topic, expected=1)) == 1
        await insert_new(collection, stored("a", outbox_of(topic, "a", 2)))
        relay.wake("a")
        assert len(await read_all(kafka, topic, expected=3)) == 3
        await insert_new(collection, stored("b", outbox_of(topic, "b", 1)))
        relay.wake("b")
    finally:
        await relay.stop()

    assert not relay.running
    assert len(await read_all(kafka, topic, expected=4)) == 4
    assert await collection.count_documents(PENDING_OUTBOX) == 0
