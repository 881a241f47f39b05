"""Kafka helpers: topic creation, the idempotent producer, and every service's consumer loop."""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
from collections.abc import Iterable, Iterator, Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from shared.config import ServiceSettings
from shared.errors import TRANSIENT_ERRORS, PoisonEvent
from shared.events.envelope import CloudEvent
from shared.events.topics import Topic, dead_letter_topic
from shared.messagebus import EventDispatcher, Handler
from shared.metrics import EVENTS

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


class TopicCreationError(RuntimeError):
    pass


async def ensure_topics(
    bootstrap_servers: str, topics: Iterable[Topic], *, replication_factor: int
) -> None:
    """Creates the topics that do not exist yet, with their partitions and retention."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        new_topics = [
            NewTopic(
                topic.name,
                num_partitions=topic.partitions,
                replication_factor=replication_factor,
                topic_configs={"retention.ms": str(topic.retention_ms)},
            )
            for topic in topics
        ]
        response = await admin.create_topics(new_topics)
        for name, code, *rest in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise TopicCreationError(f"creating topic {name} failed: error {code} {rest}")
    finally:
        await admin.close()


def new_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )


async def kafka_reachable(producer: AIOKafkaProducer, timeout_s: float = 3.0) -> bool:
    try:
        await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s)
    except (KafkaError, TimeoutError):
        return False
    return True


def in_time_order(
    batches: Iterable[list[ConsumerRecord[bytes, bytes]]],
) -> Iterator[ConsumerRecord[bytes, bytes]]:
    """Merges partitions by timestamp, keeping each partition's order.

    A consumer of several topics then sees an event before the events it caused, when both
    arrive in one fetch.
    """
    return heapq.merge(*batches, key=lambda record: record.timestamp)


class EventConsumer:
    """Feeds each event to a handler, committing its offset only after the handler succeeded.

    Transient failures (Mongo or Kafka unreachable) are retried until they pass; any other error is
    retried `max_attempts` times and then the message goes to the dead-letter topic with the error.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        topics: Iterable[Topic],
        handle: Handler,
        producer: AIOKafkaProducer,
        dead_letter: Topic,
        max_attempts: int = 5,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *(topic.name for topic in topics),
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._group_id = group_id
        self._handle = handle
        self._producer = producer
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._group_id}")

    async def stop(self) -> None:
        """Lets the event in hand finish and commit, then leaves the group."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        try:
            await self._consume()
        except Exception:
            log.exception("consumer %s stopped on an error", self._group_id)
            raise

    async def _consume(self) -> None:
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=300)
            handled: dict[TopicPartition, int] = {}
            try:
                for record in in_time_order(batches.values()):
                    if self._stopping.is_set() or not await self._process(record):
                        return
                    handled[TopicPartition(record.topic, record.partition)] = record.offset + 1
            finally:
                await self._commit(handled)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commits what was handled; one commit per fetched batch keeps the broker unburdened."""
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            log.warning(
                "commit lost to a rebalance; those events will be redelivered, deduplicated"
            )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Handles or dead-letters one record; False when stopping cut a transient retry short."""
        try:
            event = CloudEvent.from_json_bytes(record.value)
        except ValidationError as exc:
            await self._send_to_dead_letter(record, f"not a CloudEvent: {exc.error_count()} errors")
            return True
        failures = 0
        retries = 0
        while True:
            try:
                await self._handle(event)
                EVENTS.labels(self._group_id, event.type, "handled").inc()
                return True
            except TRANSIENT_ERRORS as exc:
                log.warning("transient failure on %s, retrying: %r", event.type, exc)
                if self._stopping.is_set():
                    return False
            except (ValidationError, PoisonEvent) as exc:
                await self._send_to_dead_letter(record, f"cannot handle {event.type}: {exc}")
                return True
            except Exception as exc:
                failures += 1
                log.exception(
                    "handler failed on %s (%d/%d)", event.type, failures, self._max_attempts
                )
                if failures >= self._max_attempts:
                    await self._send_to_dead_letter(record, f"{type(exc).__name__}: {exc}")
                    return True
            retries += 1
            await asyncio.sleep(min(self._retry_backoff_s * 2 ** min(retries, 6), 10.0))

    async def _send_to_dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        EVENTS.labels(self._group_id, _event_type(record), "dead_lettered").inc()
        log.error(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, error
        )
        headers = [
            ("error", error.encode()[:2000]),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
            ("consumer_group", self._group_id.encode()),
        ]
        await self._producer.send_and_wait(
            self._dead_letter.name, record.value, key=record.key, headers=headers
        )


def subscribe(
    *,
    settings: ServiceSettings,
    group_id: str,
    topics: Iterable[Topic],
    producer: AIOKafkaProducer,
    handlers: Mapping[str, Handler],
) -> EventConsumer:
    """A consumer group routing each event type to its handler, with its own dead-letter topic."""
    return EventConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        topics=topics,
        handle=EventDispatcher(handlers),
        producer=producer,
        dead_letter=dead_letter_topic(group_id),
    )


def _event_type(record: ConsumerRecord[bytes, bytes]) -> str:
    """The type a dead-lettered record claims to be, for the metric label; 'unreadable' if none."""
    try:
        return str(json.loads(record.value or b"")["type"])[:100]
    except (ValueError, KeyError, TypeError):
        return "unreadable"
