"""Three brokers, each topic on all of them and written once two have it: one broker killed under
load loses no acknowledged event, the consumers go on, and the broker rejoins when restarted.

The cluster is secured as the stack's single broker is, and is started here only.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from devstack import kafka as devstack_kafka
from devstack.kafka import ADMIN, KafkaCluster
from shared.events.topics import DAY_MS, Topic
from shared.kafka import KafkaAccess, ensure_topics
from shared.kafka_producer import new_producer
from tests.polling import eventually

REPLICAS = 3
SEND_INTERVAL_S = 0.005
WAIT_S = 45.0
TOPIC_CONFIG = 1
"""DescribeConfigs' source of a setting made on the topic itself, not inherited from the broker."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(
        libs=devstack_kafka.provision(),
        data_dir=tmp_path_factory.mktemp("kafka-cluster"),
        users={ADMIN: secrets.token_hex(16)},
        size=REPLICAS,
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Stream:
    """Numbered records sent one after the other and what the consumer group read of them."""

    acknowledged: list[int] = field(default_factory=list)
    failed_sends: int = 0
    read: dict[int, int] = field(default_factory=dict)
    """Offset → number; a record the consumer is given twice (after a rebalance) counts once."""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def read_after(self, number: int) -> int:
        return sum(1 for value in self.read.values() if value > number)


async def produce(producer: AIOKafkaProducer, topic: Topic, stream: Stream) -> None:
    number = 0
    while not stream.stopping.is_set():
        try:
            await producer.send_and_wait(topic.name, str(number).encode())
        except KafkaError:
            stream.failed_sends += 1
        else:
            stream.acknowledged.append(number)
        number += 1
        await asyncio.sleep(SEND_INTERVAL_S)


async def consume(consumer: AIOKafkaConsumer, stream: Stream) -> None:
    while True:
        batches = await consumer.getmany(timeout_ms=200)
        for records in batches.values():
            for record in records:
                assert record.value is not None
                stream.read[record.offset] = int(record.value)


async def partition_state(admin: AIOKafkaAdminClient, topic: Topic) -> dict[str, Any]:
    [described] = await admin.describe_topics([topic.name])
    [partition] = described["partitions"]
    return dict(partition)


async def test_a_killed_broker_loses_no_acknowledged_event_and_rejoins(
    cluster: KafkaCluster,
) -> None:
    kafka: KafkaAccess = cluster.access()
    topic = Topic(f"test.{uuid.uuid4().hex[:12]}", partitions=1, retention_ms=DAY_MS)
    await ensure_topics(kafka, [topic], replication_factor=REPLICAS)
    admin = AIOKafkaAdminClient(**kafka.client_options())
    producer = new_producer(kafka)
    consumer = AIOKafkaConsumer(
        topic.name,
        **kafka.client_options(),
        group_id=f"cluster-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await admin.start()
    await producer.start()
    await consumer.start()
    stream = Stream()
    tasks = [
        asyncio.create_task(produce(producer, topic, stream)),
        asyncio.create_task(consume(consumer, stream)),
    ]
    try:
        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic.name, {"min.insync.replicas": None})]
        )
        [(name, value, _, source, *_)] = configs.resources[0][4]
        assert (name, value, source) == ("min.insync.replicas", "2", TOPIC_CONFIG)
        partition = await partition_state(admin, topic)
        assert sorted(partition["replicas"]) == sorted(cluster.nodes)
        leader = partition["leader"]

        await eventually(
            lambda: len(stream.read) >= 100, what="records read before the kill", timeout_s=WAIT_S
        )
        await asyncio.to_thread(cluster.kill, leader)
        last_before_kill = max(stream.acknowledged)
        await eventually(
            lambda: stream.read_after(last_before_kill) >= 100,
            what="records sent and read while the leader is down",
            timeout_s=WAIT_S,
        )

        await asyncio.to_thread(cluster.restart, leader)
        last_before_restart = max(stream.acknowledged)
        await eventually(
            lambda: stream.read_after(last_before_restart) >= 100,
            what="records sent and read after the restart",
            timeout_s=WAIT_S,
        )
        stream.stopping.set()
        await tasks[0]
        await eventually(
            lambda: set(stream.acknowledged) <= set(stream.read.values()),
            what="every acknowledged record read",
            timeout_s=WAIT_S,
        )

        async def back_in_sync() -> bool:
            return leader in (await partition_state(admin, topic))["isr"]

        await eventually(back_in_sync, what="the restarted broker back in sync", timeout_s=WAIT_S)
    finally:
        stream.stopping.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await admin.close()

    numbers = Counter(stream.read.values())
    assert [number for number, times in numbers.items() if times > 1] == []
    assert set(stream.acknowledged) - set(numbers) == set()
    assert stream.failed_sends == 0
