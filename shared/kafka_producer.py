"""The service's idempotent Kafka producer, renewed after an error that ends its sender."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber, ProducerFenced

from shared.kafka import KafkaAccess
from shared.redaction import describe_error

log = logging.getLogger(__name__)

FATAL_TO_PRODUCER = (OutOfOrderSequenceNumber, ProducerFenced)
"""Errors that end an idempotent producer's sender for good: every send after one fails alike."""


def new_producer(kafka: KafkaAccess) -> Producer:
    """An idempotent producer that waits for all in-sync replicas."""
    return Producer(kafka)


class Producer:
    """The service's idempotent producer, renewed when a fatal error ended its sender.

    A broker that lost a producer's sequence (an outage of the whole cluster) answers
    OutOfOrderSequenceNumber. aiokafka then either fails the send itself, its sender having
    stopped, or fails the delivery, and every later batch of that partition alike, its sequence
    being out of step for good. Either way a new producer gets a new producer id and numbers its
    records afresh. What the old one had not delivered its callers send again, as after any
    failed send (relays keep items until acknowledged, and consumers deduplicate).
    """

    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka
        self._current = self._new()
        self._renewing = asyncio.Lock()
        self._renewals: set[asyncio.Task[None]] = set()

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
            current = self._current
            queued = await current.send(topic, value, key=key, partition=partition, headers=headers)
        queued.add_done_callback(partial(self._delivered, current))
        return queued

    def _delivered(self, producer: AIOKafkaProducer, delivery: asyncio.Future[Any]) -> None:
        """A delivery failed for good renews its producer, so that the caller's next try goes
        out under a new producer id; a callback, as nearly every delivery succeeds."""
        if delivery.cancelled():
            return
        error = delivery.exception()
        if isinstance(error, FATAL_TO_PRODUCER):
            renewal = asyncio.ensure_future(self._renew_when_possible(producer, error))
            self._renewals.add(renewal)
            renewal.add_done_callback(self._renewals.discard)

    async def _renew_when_possible(self, dead: AIOKafkaProducer, error: KafkaError) -> None:
        """Kafka may still be away: the next failed delivery or send tries again."""
        try:
            await self._renew(dead, error)
        except Exception as failure:
            log.warning("the Kafka producer could not be renewed yet: %s", describe_error(failure))

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
