"""The service's producer renews itself once a fatal error ended its sender.

aiokafka's sender stops for good on OutOfOrderSequenceNumber (a cluster that lost the producer's
sequence over an outage), and every send after it fails alike: the relays that share the
producer would retry forever without a new one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from shared.kafka import KafkaAccess
from shared.kafka_producer import Producer
from tests.polling import eventually


class FakeSender:
    """Stands in for one AIOKafkaProducer: `dead` makes every send fail as a dead sender's do."""

    def __init__(
        self,
        *,
        dead: bool = False,
        starts: bool = True,
        delivery_fails: type[Exception] | None = None,
    ) -> None:
        self.dead = dead
        self.starts = starts
        self.delivery_fails = delivery_fails
        """Takes sends but fails each delivery with this, as a partition whose sequence the
        broker lost (OutOfOrderSequenceNumber) or a broker gone (KafkaConnectionError)."""
        self.started = False
        self.stopped = False
        self.sent: list[bytes | None] = []

    async def start(self) -> None:
        if not self.starts:
            raise KafkaConnectionError("no broker")
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes | None, **_: Any) -> asyncio.Future[Any]:
        await asyncio.sleep(0)
        if self.dead:
            raise OutOfOrderSequenceNumber()
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.delivery_fails is not None:
            done.set_exception(self.delivery_fails())
            return done
        self.sent.append(value)
        done.set_result(len(self.sent))
        return done


class ScriptedProducer(Producer):
    """A Producer whose underlying producers are the fakes given, in order."""

    def __init__(self, *senders: FakeSender) -> None:
        self.made: list[FakeSender] = []
        self._script = list(senders)
        super().__init__(KafkaAccess("127.0.0.1:1"))

    def _new(self) -> AIOKafkaProducer:
        sender = self._script.pop(0)
        self.made.append(sender)
        return sender


async def test_a_send_after_the_sender_died_goes_through_a_new_producer() -> None:
    dead, fresh = FakeSender(dead=True), FakeSender()
    producer = ScriptedProducer(dead, fresh)
    await producer.start()

    assert await producer.send_and_wait("topic", b"event") == 1

    assert fresh.started
    assert fresh.sent == [b"event"]
    assert dead.stopped


async def test_senders_meeting_the_dead_producer_at_once_renew_it_once() -> None:
    dead, fresh, spare = FakeSender(dead=True), FakeSender(), FakeSender()
    producer = ScriptedProducer(dead, fresh, spare)
    await producer.start()

    await asyncio.gather(*(producer.send_and_wait("topic", bytes([n])) for n in range(5)))

    assert producer.made == [dead, fresh]
    assert sorted(value or b"" for value in fresh.sent) == [bytes([n]) for n in range(5)]


async def test_a_producer_that_cannot_start_yet_leaves_the_next_send_to_try_again() -> None:
    dead, unreachable, fresh = FakeSender(dead=True), FakeSender(starts=False), FakeSender()
    producer = ScriptedProducer(dead, unreachable, fresh)
    await producer.start()

    with pytest.raises(KafkaConnectionError):
        await producer.send("topic", b"first")
    assert not dead.stopped

    await producer.send_and_wait("topic", b"second")

    assert fresh.sent == [b"second"]
    assert dead.stopped
    assert unreachable.stopped


async def test_a_delivery_failed_out_of_sequence_renews_the_producer_for_the_next_try() -> None:
    out_of_step, fresh = FakeSender(delivery_fails=OutOfOrderSequenceNumber), FakeSender()
    producer = ScriptedProducer(out_of_step, fresh)
    await producer.start()

    with pytest.raises(OutOfOrderSequenceNumber):
        await producer.send_and_wait("topic", b"event")
    await eventually(lambda: fresh.started, what="a new producer started")

    assert await producer.send_and_wait("topic", b"event") == 1
    assert fresh.sent == [b"event"]
    assert out_of_step.stopped
    assert producer.made == [out_of_step, fresh]


async def test_a_delivery_failed_otherwise_keeps_the_producer() -> None:
    away, spare = FakeSender(delivery_fails=KafkaConnectionError), FakeSender()
    producer = ScriptedProducer(away, spare)
    await producer.start()

    with pytest.raises(KafkaConnectionError):
        await producer.send_and_wait("topic", b"event")
    await asyncio.sleep(0.05)

    assert producer.made == [away]
    assert not away.stopped
