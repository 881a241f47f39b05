from __future__ import annotations

from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.envelope import CloudEvent
from shared.events.topics import Topic
from shared.mongo import Document, OutboxRelay, outbox_entry
from tests.builders import cipher, request_submitted, wrapped
from tests.integration.conftest import TopicFactory, read_all


def outbox_of(topic: Topic, subject: str, count: int) -> list[Document]:
    """`count` sealed items for `topic`, as the repositories queue them."""
    events = [wrapped(request_submitted(subject)) for _ in range(count)]
    return [outbox_entry(event, cipher()) | {"topic": topic.name} for event in events]


def relay_of(collection: AsyncCollection[Document], producer: AIOKafkaProducer) -> OutboxRelay:
    return OutboxRelay(collection=collection, producer=producer, cipher=cipher())


async def test_publish_sends_items_in_order_with_their_key_then_removes_them(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    bootstrap_servers: str,
) -> None:
    topic = await new_topic(partitions=3)
    collection = mongo_db["requests"]
    outbox = outbox_of(topic, "req-1", 5)
    await collection.insert_one({"_id": "req-1", "outbox": outbox})
    await collection.insert_one({"_id": "req-2", "outbox": outbox_of(topic, "req-2", 1)})
    relay = relay_of(collection, producer)

    assert await relay.publish(["req-1", "unknown"]) == 5
    assert await relay.publish(["req-1"]) == 0

    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["outbox"] == []
    records = await read_all(bootstrap_servers, topic, expected=5)
    published = [CloudEvent.from_json_bytes(r.value) for r in records]
    assert [event.id for event in published] == [item["id"] for item in outbox]
    assert all(event.subject == "req-1" for event in published)
    assert {r.key for r in records} == {b"req-1"}
    assert len({r.partition for r in records}) == 1
    assert await collection.count_documents({"outbox.0": {"$exists": True}}) == 1


async def test_the_sweep_publishes_what_no_one_asked_for(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    bootstrap_servers: str,
) -> None:
    topic = await new_topic()
    collection = mongo_db["cases"]
    await collection.insert_one({"_id": "a", "outbox": outbox_of(topic, "a", 2)})
    await collection.insert_one({"_id": "b", "outbox": []})
    await collection.insert_one({"_id": "c", "outbox": outbox_of(topic, "c", 1)})
    relay = relay_of(collection, producer)
    before = REGISTRY.get_sample_value("adminduk_outbox_published_total", {"collection": "cases"})

    assert await relay.sweep() == 3
    assert await relay.sweep() == 0
    assert len(await read_all(bootstrap_servers, topic, expected=3)) == 3
    after = REGISTRY.get_sample_value("adminduk_outbox_published_total", {"collection": "cases"})
    assert (after or 0) - (before or 0) == 3


async def test_a_running_relay_sweeps_at_start_publishes_when_woken_and_flushes_on_stop(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    bootstrap_servers: str,
) -> None:
    topic = await new_topic()
    collection = mongo_db["cases"]
    await collection.insert_one({"_id": "left-by-a-crash", "outbox": outbox_of(topic, "x", 1)})
    relay = OutboxRelay(
        collection=collection, producer=producer, cipher=cipher(), sweep_interval_s=300
    )
    await relay.start()
    try:
        assert len(await read_all(bootstrap_servers, topic, expected=1)) == 1
        await collection.insert_one({"_id": "a", "outbox": outbox_of(topic, "a", 2)})
        relay.wake("a")
        assert len(await read_all(bootstrap_servers, topic, expected=3)) == 3
        await collection.insert_one({"_id": "b", "outbox": outbox_of(topic, "b", 1)})
        relay.wake("b")
    finally:
        await relay.stop()

    assert not relay.running
    assert len(await read_all(bootstrap_servers, topic, expected=4)) == 4
    assert await collection.count_documents({"outbox.0": {"$exists": True}}) == 0
