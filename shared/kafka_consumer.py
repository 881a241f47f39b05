"""Every service's Kafka consumer loop: concurrent across keys, in order within one, committing
only what is handled, dead-lettering what cannot be."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError

from shared.clock import Clock
from shared.config import ServiceSettings
from shared.errors import AwaitingEarlierEvent, PoisonEvent
from shared.events.envelope import (
    ATTRIBUTE_HEADER_PREFIX,
    CloudEvent,
    KafkaHeaders,
    NotACloudEvent,
)
from shared.events.sealing import EventKeys
from shared.events.topics import Topic, dead_letter_topic
from shared.kafka import KafkaAccess
from shared.kafka_producer import Producer
from shared.messagebus import Dispatch, Subscription
from shared.metrics import EVENTS, HANDED_OVER, counting_operations, event_type_label
from shared.ordering import CommitTracker, KeyedRunner
from shared.redaction import describe_error, describe_validation_error, redact
from shared.transient import is_transient

D = TypeVar("D")

log = logging.getLogger(__name__)

REBALANCE_TIMEOUT_MS = 30_000
"""How long the group waits for its members to rejoin, each first finishing the events it has in
hand. aiokafka's default, the 10 s session timeout, dropped a member still finishing them from the
group, whose return then started another rebalance."""


def in_time_order(
    batches: Iterable[list[ConsumerRecord[bytes, bytes]]],
) -> Iterator[ConsumerRecord[bytes, bytes]]:
    """Merges partitions by timestamp, keeping each partition's order.

    A consumer of several topics then sees an event before the events it caused, when both
    arrive in one fetch.
    """
    return heapq.merge(*batches, key=lambda record: record.timestamp)


class _Outcome(Enum):
    HANDLED = "handled"
    """Handled, or dead-lettered: its offset may be committed."""
    DEFERRED = "deferred"
    """Awaits a later event of its key: queued again behind it."""
    STOPPED = "stopped"
    """Stopping or a hand-over cut its retries short: it is handled again after a restart, or
    by the partition's new owner."""


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Before partitions move to another consumer, hands them over (`EventConsumer.hand_over`)."""

    def __init__(self, owner: EventConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.hand_over(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


class EventConsumer:
    """Feeds events to a handler, concurrently across keys and in order within a key.

    Up to `concurrency` events are handled at once; events with the same Kafka key (one request)
    strictly one after the other, in offset order, except one that awaits another event of its
    key not handled yet (`AwaitingEarlierEvent`: it overtook that event, e.g. written by two
    instances): it is queued again behind the events taken after it, so it cannot hold up the
    one it waits for. A partition's offset is committed only up to
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
        fetch_wait_ms: int = 0,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            **kafka.client_options(),
            **fetch_options(fetch_wait_ms),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            rebalance_timeout_ms=REBALANCE_TIMEOUT_MS,
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
        self._tenures: dict[TopicPartition, int] = {}
        """How often each partition was handed over: an event taken in an earlier tenure is
        read again by whoever owns its partition now."""
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

    async def hand_over(self, revoked: set[TopicPartition]) -> None:
        """Lets go of the revoked partitions' events not started yet, finishes those in hand,
        commits, and forgets the partitions.

        The new owner reads what was let go again from the commit. Working through a backlog of
        taken events first held the whole group's rebalance up for as long, until the group
        dropped this member. aiokafka revokes every partition at each rebalance.
        """
        for partition in revoked:
            self._tenures[partition] = self._tenures.get(partition, 0) + 1
        await self.settle()
        HANDED_OVER.labels(self._group_id).inc(self._progress.forget(revoked))

    async def settle(self) -> None:
        """Waits for every event taken to be handled (or given up), and commits."""
        await self._runner.drain()
        await self._commit()

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
        tenure = self._tenures.get(partition, 0)
        deferrals = 0

        def let_go() -> bool:
            return self._stopping.is_set() or self._tenures.get(partition, 0) != tenure

        async def job() -> bool:
            nonlocal deferrals
            if deferrals:
                await asyncio.sleep(self._backoff(deferrals))
            if let_go():
                return False
            try:
                outcome = await self._process(record, let_go)
            except Exception as exc:
                # Only the dead-letter send can get here; the service must not run on without it.
                self._failure = exc
                self._stopping.set()
                return False
            if outcome is _Outcome.DEFERRED:
                deferrals += 1
                self._runner.submit(record.key, job)
                return True
            if outcome is _Outcome.HANDLED:
                self._progress.finish(partition, record.offset)
            self._room.set()
            return outcome is _Outcome.HANDLED

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

    async def _process(
        self, record: ConsumerRecord[bytes, bytes], let_go: Callable[[], bool]
    ) -> _Outcome:
        """Handles or dead-letters one record, or defers it behind the later events of its key
        when it awaits one of them; STOPPED when stopping or a hand-over (`let_go`) cut its
        retries short."""
        try:
            event = CloudEvent.from_kafka(record.value, record.headers)
        except NotACloudEvent as exc:
            await self._send_to_dead_letter(
                record, _claimed_type(record), f"not a CloudEvent: {exc}"
            )
            return _Outcome.HANDLED
        failures = 0
        retries = 0
        while True:
            try:
                with counting_operations(self._group_id):
                    await self._handle(event)
                EVENTS.labels(self._group_id, event_type_label(event.type), "handled").inc()
                return _Outcome.HANDLED
            except ValidationError as exc:
                await self._send_to_dead_letter(
                    record,
                    event.type,
                    f"cannot handle {event.type}: {describe_validation_error(exc)}",
                )
                return _Outcome.HANDLED
            except PoisonEvent as exc:
                await self._send_to_dead_letter(
                    record, event.type, f"cannot handle {event.type}: {exc}"
                )
                return _Outcome.HANDLED
            except AwaitingEarlierEvent as exc:
                if self._runner.has_successor(record.key):
                    log.info("%s waits behind later events: %s", event.type, exc)
                    return _Outcome.DEFERRED
                log.warning("%s waits, retrying: %s", event.type, exc)
                if let_go():
                    return _Outcome.STOPPED
            except Exception as exc:
                if is_transient(exc):
                    log.warning(
                        "transient failure on %s, retrying: %s", event.type, describe_error(exc)
                    )
                    if let_go():
                        return _Outcome.STOPPED
                else:
                    failures += 1
                    log.exception(
                        "handler failed on %s (%d/%d)", event.type, failures, self._max_attempts
                    )
                    if failures >= self._max_attempts:
                        await self._send_to_dead_letter(record, event.type, describe_error(exc))
                        return _Outcome.HANDLED
            retries += 1
            await asyncio.sleep(self._backoff(retries))

    def _backoff(self, retries: int) -> float:
        return float(min(self._retry_backoff_s * 2 ** min(retries, 6), 10.0))

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
        fetch_wait_ms=settings.consumer_fetch_wait_ms,
    )


GATHERED_BYTES = 1024 * 1024
"""What a waiting fetch gathers before the broker answers it early: only a consumer that fell
behind finds that much, and it is then answered at once."""


def fetch_options(wait_ms: int) -> dict[str, int]:
    """aiokafka's fetch settings for a consumer whose fetches may wait `wait_ms` (0: not)."""
    if wait_ms == 0:
        return {"fetch_min_bytes": 1}
    return {"fetch_min_bytes": GATHERED_BYTES, "fetch_max_wait_ms": wait_ms}


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
