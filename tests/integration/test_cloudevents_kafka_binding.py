"""The CloudEvents Kafka protocol binding, checked with a Kafka client and a CloudEvents SDK that
the services do not use: what the services publish the SDK reads, and what the SDK writes, in
either content mode, the services' consumer reads."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import kafka as binding
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from confluent_kafka import Consumer, Message, Producer
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.envelope import CloudEvent
from shared.kafka import KafkaAccess
from shared.mongo import Document, OutboxRelay, outbox_entry
from tests.builders import cipher, event_keys, opened, request_submitted, wrapped
from tests.integration.conftest import TopicFactory
from tests.integration.test_event_consumer import consumer
from tests.polling import eventually


def librdkafka_config(kafka: KafkaAccess) -> dict[str, str]:
    """The same access in librdkafka's words."""
    config = {"bootstrap.servers": kafka.bootstrap_servers}
    if kafka.username is not None:
        config |= {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": kafka.username,
            "sasl.password": kafka.password or "",
            "ssl.ca.location": str(kafka.ca_file),
        }
    return config


def consume_raw(kafka: KafkaAccess, topic: str, expected: int) -> list[Message]:
    """Reads a topic from the start with confluent-kafka until `expected` messages came."""
    reader = Consumer(
        {
            **librdkafka_config(kafka),
            "group.id": f"raw-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    reader.subscribe([topic])
    received: list[Message] = []
    try:
        for _ in range(200):
            message = reader.poll(0.1)
            if message is not None and message.error() is None:
                received.append(message)
            if len(received) >= expected:
                break
    finally:
        reader.close()
    return received


def produce_raw(kafka: KafkaAccess, topic: str, message: binding.KafkaMessage) -> None:
    producer = Producer(librdkafka_config(kafka))
    headers: dict[str, str | bytes | None] = dict(message.headers)
    producer.produce(topic, value=message.value, key=message.key, headers=headers)
    assert producer.flush(10) == 0


def as_sdk_event(event: CloudEvent) -> BaseCloudEvent:
    attributes = event.model_dump(exclude={"data"})
    return SdkEvent(attributes=attributes, data=event.data)


def subject_as_key(event: BaseCloudEvent) -> str | None:
    return event.get_subject()


async def test_what_the_outbox_relay_publishes_the_sdk_reads_as_structured_mode(
    mongo_db: AsyncDatabase[Document],
    new_topic: TopicFactory,
    producer: AIOKafkaProducer,
    kafka: KafkaAccess,
) -> None:
    topic = await new_topic(partitions=1)
    published = wrapped(request_submitted("req-1"), source="/adminduk/intake")
    collection = mongo_db["requests"]
    await collection.insert_one(
        {"_id": "req-1", "outbox": [outbox_entry(published, cipher()) | {"topic": topic.name}]}
    )
    relay = OutboxRelay(
        collection=collection, producer=producer, cipher=cipher(), keys=event_keys()
    )

    assert await relay.publish(["req-1"]) == 1

    [raw] = await asyncio.to_thread(consume_raw, kafka, topic.name, 1)
    raw_headers, value, key = raw.headers(), raw.value(), raw.key()
    assert raw_headers == [("content-type", b"application/cloudevents+json")]
    assert isinstance(raw_headers, list)
    assert value is not None
    assert key == b"req-1"
    headers = {name: header for name, header in raw_headers if isinstance(header, bytes)}
    message = binding.KafkaMessage(headers=headers, key=key, value=value)
    decoded = binding.from_structured(message, JSONFormat())
    assert decoded.get_attributes() == {
        **published.model_dump(exclude={"data"}),
        "partitionkey": "req-1",
    }
    sealed = published.model_copy(update={"data": decoded.get_data()})
    assert sealed.data["applicant"]["nik"] != published.data["applicant"]["nik"]
    assert opened(sealed.to_json_bytes()) == published


async def test_binary_and_structured_events_from_the_sdk_reach_the_handler_as_one_event(
    new_topic: TopicFactory, producer: AIOKafkaProducer, kafka: KafkaAccess
) -> None:
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    original = wrapped(request_submitted("req-1"), source="/adminduk/intake")
    sdk_event = as_sdk_event(original)
    binary = binding.to_binary(sdk_event, JSONFormat(), key_mapper=subject_as_key)
    structured = binding.to_structured(sdk_event, JSONFormat(), key_mapper=subject_as_key)
    assert binary.headers["ce_specversion"] == b"1.0"
    assert binary.headers["content-type"] == b"application/json"
    await producer.send_and_wait(
        topic.name, original.to_json_bytes(), key=b"req-1", headers=CloudEvent.structured_headers()
    )
    for message in (binary, structured):
        await asyncio.to_thread(produce_raw, kafka, topic.name, message)
    handled: list[CloudEvent] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event)

    group = f"group-{uuid.uuid4().hex[:8]}"
    loop = consumer(kafka, producer, group_id=group, topic=topic,
                    dead_letter=dead_letter, handle=handle)  # fmt: skip
    await loop.start()
    try:
        await eventually(lambda: len(handled) == 3, what="the three events handled")
    finally:
        await loop.stop()

    # The services' own message, then the SDK's binary and structured ones: one event, one id,
    # so a handler's deduplication by id treats them alike.
    assert handled == [original, original, original]
