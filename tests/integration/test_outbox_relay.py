from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.envelope import CloudEvent
from shared.events.topics import Topic
from shared.mongo import Document, OutboxRelay
from tests.integration.conftest import TopicFactory, read_all


def outbox_of(topic: Topic, subject: str, count: int) -> list[Document]:
    events = [
        CloudEvent(
            id=f"{subject}-{n}",
            source="/test",
            type="id.go.adminduk.test.v1",
            time=datetime.now(UTC),
            subject=subject,
            data={"n": n},
        )
        for n in range(count)
    ]
    return [
        {"id": event.id, "topic": topic.name, "key": subject, "payload": event.model_dump_json()}
        for event in events
    ]


async def test_publish_sends_items_in_order_with_their_key_then_removes_them(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    bootstrap_servers: str,
) -> None:
    topic = await new_topic(partitions=3)
    collection = mongo_db["requests"]
    await collection.insert_one({"_id": "req-1", "outbox": outbox_of(topic, "req-1", 5)})
    await collection.insert_one({"_id": "req-2", "outbox": outbox_of(topic, "req-2", 1)})
    relay = OutboxRelay(collection=collection, producer=producer)

    assert await relay.publish(["req-1", "unknown"]) == 5
    assert await relay.publish(["req-1"]) == 0

    document = await collection.find_one({"_id": "req-1"})
    assert document is not None
    assert document["outbox"] == []
    records = await read_all(bootstrap_servers, topic, expected=5)
    assert [CloudEvent.from_json_bytes(r.value).data["n"] for r in records] == [0, 1, 2, 3, 4]
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
    relay = OutboxRelay(collection=collection, producer=producer)
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
    relay = OutboxRelay(collection=collection, producer=producer, sweep_interval_s=300)
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
