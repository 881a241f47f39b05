from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared.events.topics import Topic
from shared.kafka import KafkaAccess, ensure_topics


async def test_topics_are_created_once_with_their_partitions_and_retention(
    kafka: KafkaAccess,
) -> None:
    topic = Topic(f"test.{uuid.uuid4().hex[:12]}", partitions=4, retention_ms=123_456_789)

    await ensure_topics(kafka, [topic], replication_factor=1)
    await ensure_topics(kafka, [topic], replication_factor=1)

    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic.name])
        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic.name, {"retention.ms": None})]
        )
    finally:
        await admin.close()
    assert len(described["partitions"]) == 4
    values = {entry[0]: entry[1] for entry in configs.resources[0][4]}
    assert values["retention.ms"] == "123456789"
