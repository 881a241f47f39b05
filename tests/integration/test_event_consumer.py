"""The consumer loop against a real broker: commit after success, retries, dead letters, stop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from shared.errors import AwaitingEarlierEvent
from shared.events.envelope import CloudEvent
from shared.events.topics import Topic
from shared.kafka import KafkaAccess
from shared.kafka_consumer import EventConsumer
from tests.integration.conftest import TopicFactory, read_all
from tests.polling import eventually

EVENT_TYPE = "id.go.adminduk.test.v1"


def event(n: int, subject: str = "req-1") -> CloudEvent:
    return CloudEvent(
        id=f"evt-{uuid.uuid4()}",
        source="/test",
        type=EVENT_TYPE,
        time=datetime.now(UTC),
        subject=subject,
        data={"n": n},
    )


async def publish(producer: AIOKafkaProducer, topic: str, event: CloudEvent) -> None:
    await producer.send_and_wait(
        topic,
        event.to_json_bytes(),
        key=event.subject.encode(),
        headers=CloudEvent.structured_headers(),
    )


def consumer(
    kafka: KafkaAccess,
    producer: AIOKafkaProducer,
    *,
    group_id: str,
    topic: Topic,
    dead_letter: Topic,
    handle: Callable[[CloudEvent], Awaitable[None]],
    concurrency: int = 32,
) -> EventConsumer:
    return EventConsumer(
        kafka=kafka,
        group_id=group_id,
        topics=[topic],
        handle=handle,
        producer=producer,
        dead_letter=dead_letter,
        max_attempts=3,
        retry_backoff_s=0.01,
        concurrency=concurrency,
    )


def handled_count(group: str, event_type: str, outcome: str) -> float:
    labels = {"group": group, "type": event_type, "outcome": outcome}
    return REGISTRY.get_sample_value("adminduk_events_total", labels) or 0.0


async def test_committed_events_are_not_delivered_again_to_the_group(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    topic, dead_letter = await new_topic(), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    seen: list[int] = []

    async def handle(received: CloudEvent) -> None:
        seen.append(received.data["n"])

    for n in range(3):
        await publish(producer, topic.name, event(n))
    first = consumer(kafka, producer, group_id=group, topic=topic,
                     dead_letter=dead_letter, handle=handle)  # fmt: skip
    await first.start()
    await eventually(lambda: len(seen) == 3, what="the three events handled")
    await first.stop()

    await publish(producer, topic.name, event(3))
    second = consumer(kafka, producer, group_id=group, topic=topic,
                      dead_letter=dead_letter, handle=handle)  # fmt: skip
    await second.start()
    await eventually(lambda: len(seen) == 4, what="the new event handled")
    await asyncio.sleep(1.0)
    await second.stop()

    assert seen == [0, 1, 2, 3]


async def test_a_failing_handler_is_retried_and_a_hopeless_event_is_dead_lettered(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    attempts: dict[int, int] = {}
    handled: list[int] = []

    async def handle(received: CloudEvent) -> None:
        n = received.data["n"]
        attempts[n] = attempts.get(n, 0) + 1
        if n == 0 and attempts[n] < 3:
            raise ValueError("flaky")
        if n == 1:
            raise ValueError("always broken")
        handled.append(n)

    for n in range(3):
        await publish(producer, topic.name, event(n))
    await producer.send_and_wait(topic.name, b"{not json", key=b"req-1")
    group = f"g-{uuid.uuid4().hex[:8]}"
    loop = consumer(kafka, producer, group_id=group,
                    topic=topic, dead_letter=dead_letter, handle=handle)  # fmt: skip
    await loop.start()
    dead = await read_all(kafka, dead_letter, expected=2)
    await eventually(lambda: handled == [0, 2], what="events 0 and 2 handled")
    await loop.stop()

    assert attempts == {0: 3, 1: 3, 2: 1}
    # A type no event class declares is counted as "other": producers cannot add label values.
    assert handled_count(group, "other", "handled") == 2
    assert handled_count(group, "other", "dead_lettered") == 1
    assert handled_count(group, "unreadable", "dead_lettered") == 1
    assert len(dead) == 2
    errors = [dict(record.headers)["error"].decode() for record in dead]
    assert errors[0] == "ValueError: always broken"
    assert errors[1].startswith("not a CloudEvent")
    assert dead[1].value == b"{not json"
    assert {dict(record.headers)["source_topic"] for record in dead} == {topic.name.encode()}


async def test_stop_lets_the_event_in_hand_finish_and_commit(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    started = asyncio.Event()
    finished: list[int] = []

    async def slow(received: CloudEvent) -> None:
        started.set()
        await asyncio.sleep(1.0)
        finished.append(received.data["n"])

    await publish(producer, topic.name, event(7))
    loop = consumer(kafka, producer, group_id=group, topic=topic,
                    dead_letter=dead_letter, handle=slow)  # fmt: skip
    await loop.start()
    await asyncio.wait_for(started.wait(), 20)
    await loop.stop()
    assert finished == [7]

    again: list[int] = []

    async def record(received: CloudEvent) -> None:
        again.append(received.data["n"])

    await publish(producer, topic.name, event(8))
    second = consumer(kafka, producer, group_id=group, topic=topic,
                      dead_letter=dead_letter, handle=record)  # fmt: skip
    await second.start()
    await eventually(lambda: again == [8], what="the next event handled by the second consumer")
    await second.stop()


async def test_a_member_joining_a_busy_group_takes_its_share_of_the_backlog_at_once(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    """The member handing partitions over lets go of the events it took and has not started,
    rather than working through them first while the whole group waits."""
    topic, dead_letter = await new_topic(partitions=2), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    handled: list[tuple[str, int]] = []

    def slowly(member: str) -> Callable[[CloudEvent], Awaitable[None]]:
        async def handle(received: CloudEvent) -> None:
            await asyncio.sleep(0.05)
            handled.append((member, received.data["n"]))

        return handle

    backlog = 200
    await asyncio.gather(
        *(publish(producer, topic.name, event(n, subject=f"req-{n}")) for n in range(backlog))
    )
    members = [
        consumer(
            kafka,
            producer,
            group_id=group,
            topic=topic,
            dead_letter=dead_letter,
            handle=slowly(member),
            concurrency=1,
        )
        for member in ("first", "second")
    ]
    await members[0].start()
    try:
        await eventually(lambda: bool(handled), what="the first member at work on the backlog")
        await members[1].start()
        await eventually(lambda: len(handled) >= backlog, what="the whole backlog handled")
    finally:
        await asyncio.gather(*(member.stop() for member in members))

    numbers = [n for _, n in handled]
    assert sorted(numbers) == list(range(backlog)), "each event handled exactly once"
    taken_over = sum(1 for member, _ in handled if member == "second")
    assert taken_over > 0, "the joining member took none of the backlog"
    handed_over = REGISTRY.get_sample_value("adminduk_events_handed_over_total", {"group": group})
    assert handed_over, "no event counted as handed over"


async def committed_offset(kafka: KafkaAccess, group: str, topic: Topic) -> int | None:
    reader = AIOKafkaConsumer(**kafka.client_options(), group_id=group)
    await reader.start()
    try:
        offset: int | None = await reader.committed(TopicPartition(topic.name, 0))
        return offset
    finally:
        await reader.stop()


async def test_a_held_key_lets_other_keys_of_its_partition_pass_and_holds_the_commit(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    release = asyncio.Event()
    order: list[str] = []

    async def handle(received: CloudEvent) -> None:
        name = f"{received.subject}{received.data['n']}"
        if name == "a0":
            await release.wait()
        order.append(name)

    for subject, n in [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1)]:
        await publish(producer, topic.name, event(n, subject=subject))
    loop = consumer(kafka, producer, group_id=group, topic=topic,
                    dead_letter=dead_letter, handle=handle)  # fmt: skip
    await loop.start()
    try:
        await eventually(
            lambda: set(order) == {"b0", "c0", "b1"},
            what="the other keys handled past the held one",
        )
        await asyncio.sleep(1.0)
        assert "a1" not in order
        # A crash now would restart at a0: nothing handled after it is lost, nothing before it
        # is repeated.
        assert await committed_offset(kafka, group, topic) == 0

        release.set()
        await eventually(lambda: len(order) == 5, what="every event handled once released")
        assert order.index("a0") < order.index("a1")
        assert order.index("b0") < order.index("b1")

        async def all_committed() -> bool:
            return await committed_offset(kafka, group, topic) == 5

        await eventually(all_committed, what="the commit past the five events")
    finally:
        release.set()
        await loop.stop()


async def test_an_event_awaiting_a_later_one_of_its_key_lets_it_pass_and_then_is_handled(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    """Two documents of a request published before the request itself (their writers raced):
    each waits for the request without holding it up, and the commit waits for them."""
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    handled: list[int] = []

    async def handle(received: CloudEvent) -> None:
        n = received.data["n"]
        if n != 0 and 0 not in handled:
            raise AwaitingEarlierEvent("the request is not in yet")
        handled.append(n)

    for n in (1, 2, 0):
        await publish(producer, topic.name, event(n))
    loop = consumer(kafka, producer, group_id=group, topic=topic,
                    dead_letter=dead_letter, handle=handle)  # fmt: skip
    await loop.start()
    try:
        await eventually(lambda: len(handled) == 3, what="the request, then its documents")

        async def all_committed() -> bool:
            return await committed_offset(kafka, group, topic) == 3

        await eventually(all_committed, what="the commit past all three")
    finally:
        await loop.stop()

    assert handled == [0, 1, 2]
    assert handled_count(group, "other", "handled") == 3
    assert handled_count(group, "other", "dead_lettered") == 0


async def test_events_of_different_keys_are_handled_concurrently(
    kafka: KafkaAccess, producer: AIOKafkaProducer, new_topic: TopicFactory
) -> None:
    topic, dead_letter = await new_topic(partitions=2), await new_topic(partitions=1)
    group = f"group-{uuid.uuid4().hex[:8]}"
    in_handler = 0
    most = 0
    done: list[str] = []

    async def slow(received: CloudEvent) -> None:
        nonlocal in_handler, most
        in_handler += 1
        most = max(most, in_handler)
        await asyncio.sleep(0.2)
        in_handler -= 1
        done.append(received.subject)

    for n in range(20):
        await publish(producer, topic.name, event(n, subject=f"req-{n}"))
    loop = consumer(kafka, producer, group_id=group, topic=topic,
                    dead_letter=dead_letter, handle=slow)  # fmt: skip
    await loop.start()
    await eventually(lambda: len(done) == 20, what="all twenty events handled")
    await loop.stop()

    assert most > 1
    assert sorted(done) == sorted(f"req-{n}" for n in range(20))
