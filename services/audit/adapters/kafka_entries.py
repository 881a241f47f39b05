"""The entries topic on Kafka: one partition, so the whole log keeps its index order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.audit.domain.entry import LogEntry
from services.audit.domain.stream import topic_key, topic_record
from shared.events.topics import Topic
from shared.kafka_producer import Producer

JSON_HEADERS = [("content-type", b"application/json")]


class KafkaEntriesTopic:
    """Sends through the idempotent producer, which keeps a partition's records in the order
    sent even when it retries; everything goes to partition 0, whatever partitions are added."""

    def __init__(self, producer: Producer, topic: Topic) -> None:
        self._producer = producer
        self._topic = topic

    async def publish(self, entries: Sequence[LogEntry]) -> None:
        deliveries = [
            await self._producer.send(
                self._topic.name,
                topic_record(entry),
                key=topic_key(entry),
                partition=0,
                headers=JSON_HEADERS,
            )
            for entry in entries
        ]
        await asyncio.gather(*deliveries)
