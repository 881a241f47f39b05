"""Consumer lag per group: messages written to a group's topics that it has not committed yet.

A lag that stays bounded means the group keeps up; one that grows steadily means the offered load
is above what that consumer can sustain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events.topics import CASES, NOTIFICATIONS, REQUESTS, Topic
from shared.kafka import KafkaAccess

CONSUMED: dict[str, Sequence[Topic]] = {
    "processing": [REQUESTS],
    "notify": [CASES],
    "audit": [REQUESTS, CASES, NOTIFICATIONS],
}
"""Each service's consumer group (its `consumer_group` setting) and the topics it reads."""
LAST_GROUP = "audit"
"""The group that reads every topic: once it has read all of a run's events, the run is through."""
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class GroupOffsets:
    written: int
    """Messages written to the group's topics so far (sum of end offsets)."""
    committed: int

    @property
    def lag(self) -> int:
        return self.written - self.committed


class LagProbe:
    """Reads end offsets and each group's committed offsets, without joining any group."""

    def __init__(self, kafka: KafkaAccess) -> None:
        self._admin = AIOKafkaAdminClient(**kafka.client_options())
        self._offsets = AIOKafkaConsumer(**kafka.client_options(), group_id=None)

    async def __aenter__(self) -> LagProbe:
        """Closes both clients when either cannot start (Kafka down), so none is left open."""
        try:
            await self._admin.start()
            await self._offsets.start()
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def _close(self) -> None:
        await self._offsets.stop()
        await self._admin.close()

    async def sample(self) -> dict[str, GroupOffsets]:
        partitions = {
            group: [
                TopicPartition(topic.name, partition)
                for topic in topics
                for partition in range(topic.partitions)
            ]
            for group, topics in CONSUMED.items()
        }
        committed = {
            group: await asyncio.wait_for(
                self._admin.list_consumer_group_offsets(group, partitions=group_partitions),
                REQUEST_TIMEOUT_S,
            )
            for group, group_partitions in partitions.items()
        }
        # End offsets after the commits, so a sample never shows a commit beyond the end.
        every_partition = {tp for group in partitions.values() for tp in group}
        ends: dict[TopicPartition, int] = await asyncio.wait_for(
            self._offsets.end_offsets(list(every_partition)), REQUEST_TIMEOUT_S
        )
        sample = {}
        for group, group_partitions in partitions.items():
            offsets = committed[group]
            sample[group] = GroupOffsets(
                written=sum(ends[tp] for tp in group_partitions),
                committed=sum(
                    max(offsets[tp].offset, 0) for tp in group_partitions if tp in offsets
                ),
            )
        return sample
