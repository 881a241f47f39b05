"""Per-test databases and topics on the session's real FerretDB and Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from shared.events.topics import DAY_MS, Topic
from shared.kafka import KafkaAccess, ensure_topics
from shared.kafka_producer import new_producer
from shared.mongo import Document, new_mongo_client

TopicFactory = Callable[..., Awaitable[Topic]]


@pytest.fixture
async def mongo_db(stack: Stack) -> AsyncIterator[AsyncDatabase[Document]]:
    client = new_mongo_client(stack.mongo_url)
    db = client[f"test_{uuid.uuid4().hex[:12]}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.fixture
def kafka(stack: Stack) -> KafkaAccess:
    """The session's Kafka as its admin, who may create and use any topic and group."""
    return stack.kafka_access()


@pytest.fixture
def new_topic(kafka: KafkaAccess) -> TopicFactory:
    """Creates a topic of its own for one test."""

    async def create(partitions: int = 3) -> Topic:
        topic = Topic(f"test.{uuid.uuid4().hex[:12]}", partitions=partitions, retention_ms=DAY_MS)
        await ensure_topics(kafka, [topic], replication_factor=1)
        return topic

    return create


@pytest.fixture
async def producer(kafka: KafkaAccess) -> AsyncIterator[AIOKafkaProducer]:
    producer = new_producer(kafka)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def read_all(
    kafka: KafkaAccess, topic: Topic, expected: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """Reads a topic from the start until `expected` records arrived or 20 s passed."""
    consumer = AIOKafkaConsumer(
        topic.name,
        **kafka.client_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[ConsumerRecord[bytes, bytes]] = []
    try:
        for _ in range(100):
            batches = await consumer.getmany(timeout_ms=200)
            received += [record for records in batches.values() for record in records]
            if len(received) >= expected:
                break
    finally:
        await consumer.stop()
    return received
