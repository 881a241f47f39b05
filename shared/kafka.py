"""Kafka helpers: topic creation, the idempotent producer, and every service's consumer loop."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    KafkaError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
)
from pydantic import ValidationError

from shared.clock import Clock
from shared.config import ServiceSettings
from shared.errors import PoisonEvent
from shared.events.envelope import (
    ATTRIBUTE_HEADER_PREFIX,
    CloudEvent,
    KafkaHeaders,
    NotACloudEvent,
)
from shared.events.sealing import EventKeys
from shared.events.topics import TOPICS, Topic, dead_letter_topic
from shared.messagebus import Dispatch, Subscription
from shared.metrics import EVENTS, counting_operations, event_type_label
from shared.ordering import CommitTracker, KeyedRunner
from shared.redaction import describe_error, describe_validation_error, redact
from shared.transient import is_transient

D = TypeVar("D")

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


SCRAM_MECHANISM = "SCRAM-SHA-512"


class TopicCreationError(RuntimeError):
    pass


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and who a client is to them.

    With a user name the client speaks SASL_SSL: TLS checked against `ca_file` (the system's
    authorities if None) and SCRAM-SHA-512 with the password; without one, plaintext, for a
    cluster that asks for nothing.
    """

    bootstrap_servers: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @classmethod
    def of(cls, settings: ServiceSettings) -> KafkaAccess:
        """A service's access from its settings; its password made locally outside production."""
        if settings.kafka_security_protocol == "PLAINTEXT":
            return cls(settings.kafka_bootstrap_servers)
        password = settings.secret(f"{settings.env_prefix}KAFKA_PASSWORD", settings.kafka_password)
        return cls(
            settings.kafka_bootstrap_servers,
            username=settings.kafka_user,
            password=password.get_secret_value(),
            ca_file=settings.kafka_ca_file,
        )

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client takes for this access."""
        if self.username is None:
            return {"bootstrap_servers": self.bootstrap_servers}
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": "SASL_SSL",
            "ssl_context": context,
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


def min_insync_replicas(replication_factor: int) -> int:
    """A majority of a topic's replicas: an event acknowledged to an `acks=all` producer is on
    that many brokers, so it outlives the loss of any minority of them."""
    return replication_factor // 2 + 1


async def ensure_topics(
    kafka: KafkaAccess, topics: Iterable[Topic], *, replication_factor: int
) -> None:
    """Creates the topics that do not exist yet, with their partitions, retention and
    `min.insync.replicas`."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        new_topics = [
            NewTopic(
                topic.name,
                num_partitions=topic.partitions,
                replication_factor=replication_factor,
                topic_configs={
                    "retention.ms": str(topic.retention_ms),
                    "min.insync.replicas": str(min_insync_replicas(replication_factor)),
                },
            )
            for topic in topics
        ]
        response = await admin.create_topics(new_topics)
        for name, code, *rest in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise TopicCreationError(f"creating topic {name} failed: error {code} {rest}")
    finally:
        await admin.close()


def service_topics(
    service: str, *, subscription: Subscription[Any] | None = None, group_id: str | None = None
) -> list[Topic]:
    """The topics a service creates at start: those it writes, reads, and its dead letters."""
    topics = [topic for topic in TOPICS if topic.writer == service]
    if subscription is not None:
        topics += subscription.topics
        topics.append(dead_letter_topic(group_id or service))
    return list(dict.fromkeys(topics))


FATAL_TO_PRODUCER = (OutOfOrderSequenceNumber, ProducerFenced)
"""Errors that end an idempotent producer's sender for good: every send after one fails alike."""


def new_producer(kafka: KafkaAccess) -> Producer:
    """An idempotent producer that waits for all in-sync replicas."""
    return Producer(kafka)


class Producer:
    """The service's idempotent producer, renewed when a fatal error ended its sender.

    A broker that lost a producer's sequence (an outage of the whole cluster) answers
    OutOfOrderSequenceNumber, and aiokafka's sender then fails that send and every later one; a
    new producer gets a new producer id and numbers its records afresh. What the old one had not
    delivered its callers send again, as after any failed send (relays keep items until
    acknowledged, and consumers deduplicate).
    """

    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka
        self._current = self._new()
        self._renewing = asyncio.Lock()

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **self._kafka.client_options(),
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )

    @property
    def client(self) -> Any:
        return self._current.client

    async def start(self) -> None:
        await self._current.start()

    async def stop(self) -> None:
        await self._current.stop()

    async def send(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Queues one record; the future is done once it is acknowledged."""
        current = self._current
        try:
            queued: asyncio.Future[Any] = await current.send(
                topic, value, key=key, partition=partition, headers=headers
            )
        except FATAL_TO_PRODUCER as error:
            await self._renew(current, error)
            queued = await self._current.send(
                topic, value, key=key, partition=partition, headers=headers
            )
        return queued

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        return await (await self.send(topic, value, key=key, headers=headers))

    async def _renew(self, dead: AIOKafkaProducer, error: KafkaError) -> None:
        """Replaces `dead` once, however many senders met its error; if the new one cannot start
        (Kafka still away), the dead one stays, and the next send tries again."""
        async with self._renewing:
            if self._current is not dead:
                return
            log.warning("renewing the Kafka producer after %s", describe_error(error))
            fresh = self._new()
            try:
                await fresh.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await fresh.stop()
                raise
            self._current = fresh
            with contextlib.suppress(Exception):
                await dead.stop()


async def kafka_reachable(producer: Producer, timeout_s: float = 3.0) -> bool:
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


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move to another consumer, finishes and commits what was taken from them."""

    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.settle(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


class EventConsumer:
    """Feeds events to a handler, concurrently across keys and in order within a key.

    Up to `concurrency` events are handled at once; events with the same Kafka key (one request)
    strictly one after the other, in offset order. A partition's offset is committed only up to
    its first event not yet handled, so a crash at any moment loses nothing; what is redelivered
    the idempotent handlers recognise.

    Events come in either content mode of the CloudEvents Kafka binding. Transient failures (Mongo
    or Kafka unreachable) are retried until they pass; any other error is retried `max_attempts`
    times and then the message goes to the dead-letter topic with the error. Errors are logged and
    dead-lettered through `shared.redaction`: field names and error types, never the values.
    """

    def __init__(
        self,
        *,
        kafka: KafkaAccess,
        group_id: str,
        topics: Iterable[Topic],
        handle: Dispatch,
        producer: Producer,
        dead_letter: Topic,
        max_attempts: int = 5,
        retry_backoff_s: float = 0.2,
        concurrency: int = 32,
        max_in_flight: int = 1000,
        commit_interval_s: float = 0.2,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._topics = [topic.name for topic in topics]
        self._group_id = group_id
        self._handle = handle
        self._producer = producer
        self._dead_letter = dead_letter
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s
        self._max_in_flight = max_in_flight
        self._commit_interval_s = commit_interval_s
        self._runner = KeyedRunner(concurrency)
        self._progress: CommitTracker[TopicPartition] = CommitTracker()
        self._room = asyncio.Event()
        self._stopping = asyncio.Event()
        self._failure: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer.subscribe(self._topics, listener=_Rebalance(self))
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self._group_id}")

    async def stop(self) -> None:
        """Lets the events in hand finish and commit, then leaves the group."""
        self._stopping.set()
        self._room.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def settle(self, partitions: set[TopicPartition] | None = None) -> None:
        """Waits for every event taken to be handled (or given up), commits, and forgets
        `partitions`."""
        await self._runner.drain()
        await self._commit()
        if partitions:
            self._progress.forget(partitions)

    async def _run(self) -> None:
        try:
            await self._consume()
        except Exception:
            log.exception("consumer %s stopped on an error", self._group_id)
            raise
        finally:
            await self.settle()
        if self._failure is not None:
            raise self._failure

    async def _consume(self) -> None:
        clock = asyncio.get_running_loop().time
        last_commit = clock()
        while not self._stopping.is_set():
            room = self._max_in_flight - self._runner.pending
            if room <= 0:
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), self._commit_interval_s)
            else:
                batches = await self._consumer.getmany(timeout_ms=300, max_records=room)
                for record in in_time_order(batches.values()):
                    self._take(record)
            if clock() - last_commit >= self._commit_interval_s:
                await self._commit()
                last_commit = clock()

    def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        partition = TopicPartition(record.topic, record.partition)
        self._progress.take(partition, record.offset)

        async def job() -> bool:
            if self._stopping.is_set():
                return False
            try:
                handled = await self._process(record)
            except Exception as exc:
                # Only the dead-letter send can get here; the service must not run on without it.
                self._failure = exc
                self._stopping.set()
                return False
            if handled:
                self._progress.finish(partition, record.offset)
            self._room.set()
            return handled

        self._runner.submit(record.key, job)

    async def _commit(self) -> None:
        """Commits every partition's position up to its first unhandled event."""
        positions = self._progress.uncommitted()
        if not positions:
            return
        try:
            await self._consumer.commit(positions)
        except CommitFailedError:
            log.warning(
                "commit lost to a rebalance; those events will be redelivered, deduplicated"
            )
        except KafkaError as exc:
            log.warning("commit failed, retried with the next one: %r", exc)
        else:
            self._progress.committed(positions)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Handles or dead-letters one record; False when stopping cut a transient retry short."""
        try:
            event = CloudEvent.from_kafka(record.value, record.headers)
        except NotACloudEvent as exc:
            await self._send_to_dead_letter(
                record, _claimed_type(record), f"not a CloudEvent: {exc}"
            )
            return True
        failures = 0
        retries = 0
        while True:
            try:
                with counting_operations(self._group_id):
                    await self._handle(event)
                EVENTS.labels(self._group_id, event_type_label(event.type), "handled").inc()
                return True
            except ValidationError as exc:
                await self._send_to_dead_letter(
                    record,
                    event.type,
                    f"cannot handle {event.type}: {describe_validation_error(exc)}",
                )
                return True
            except PoisonEvent as exc:
                await self._send_to_dead_letter(
                    record, event.type, f"cannot handle {event.type}: {exc}"
                )
                return True
            except Exception as exc:
                if is_transient(exc):
                    log.warning(
                        "transient failure on %s, retrying: %s", event.type, describe_error(exc)
                    )
                    if self._stopping.is_set():
                        return False
                else:
                    failures += 1
                    log.exception(
                        "handler failed on %s (%d/%d)", event.type, failures, self._max_attempts
                    )
                    if failures >= self._max_attempts:
                        await self._send_to_dead_letter(record, event.type, describe_error(exc))
                        return True
            retries += 1
            await asyncio.sleep(min(self._retry_backoff_s * 2 ** min(retries, 6), 10.0))

    async def _send_to_dead_letter(
        self, record: ConsumerRecord[bytes, bytes], event_type: str, error: str
    ) -> None:
        """Forwards the record as it came, value and headers, with headers saying why."""
        error = redact(error)
        EVENTS.labels(self._group_id, event_type_label(event_type), "dead_lettered").inc()
        log.error(
            "dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, error
        )
        headers = [
            *record.headers,
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
    subscription: Subscription[D],
    dependencies: D,
    clock: Clock,
    producer: Producer,
    keys: EventKeys,
) -> EventConsumer:
    """A consumer group for the subscription's topics, with its own dead-letter topic; `keys`
    open the personal fields of the events it handles."""
    return EventConsumer(
        kafka=KafkaAccess.of(settings),
        group_id=group_id,
        topics=subscription.topics,
        handle=subscription.bind(dependencies, clock, keys),
        producer=producer,
        dead_letter=dead_letter_topic(group_id),
        concurrency=settings.consumer_concurrency,
    )


def _claimed_type(record: ConsumerRecord[bytes, bytes]) -> str:
    """The type an undecodable record claims to be, for the metric label; 'unreadable' if none."""
    headers: KafkaHeaders = record.headers
    for name, value in headers:
        if name.lower() == f"{ATTRIBUTE_HEADER_PREFIX}type" and value:
            return value.decode(errors="replace")[:100]
    try:
        return str(json.loads(record.value or b"")["type"])[:100]
    except (ValueError, KeyError, TypeError):
        return "unreadable"
