"""The connections one service process holds: its Mongo database and its Kafka producer."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import NoReturn, Protocol, TypeVar

import uvicorn
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.clock import Clock
from shared.config import S, ServiceSettings, load_settings
from shared.crypto import Cipher
from shared.errors import InvalidConfiguration
from shared.events.sealing import EventKeys
from shared.events.topics import Topic
from shared.http.app import ReadinessCheck
from shared.kafka import KafkaAccess, ensure_topics
from shared.kafka_consumer import subscribe
from shared.kafka_producer import Producer, kafka_reachable, new_producer
from shared.logging import configure_logging
from shared.messagebus import Subscription
from shared.mongo import Document, OutboxRelay, mongo_reachable, new_mongo_client
from shared.outbox import Outbox

log = logging.getLogger(__name__)

D = TypeVar("D")

EX_CONFIG = 78
"""The exit status of a process refused for its configuration (sysexits.h), so a supervisor
tells it from a crash."""


class Worker(Protocol):
    """A background loop of a service: an outbox relay, a consumer, a delivery loop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def running(self) -> bool: ...


@dataclass
class Infrastructure:
    mongo: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    producer: Producer

    @classmethod
    async def connect(cls, settings: ServiceSettings, topics: Iterable[Topic]) -> Infrastructure:
        """Creates the topics the service touches, then opens Mongo and starts the producer."""
        kafka = KafkaAccess.of(settings)
        await ensure_topics(
            kafka,
            topics,
            replication_factor=settings.kafka_replication_factor,
        )
        mongo = new_mongo_client(settings.mongo_url)
        producer = new_producer(kafka)
        await producer.start()
        return cls(mongo=mongo, db=mongo[settings.mongo_database], producer=producer)

    async def close(self) -> None:
        await self.producer.stop()
        await self.mongo.close()

    def readiness_checks(self) -> dict[str, ReadinessCheck]:
        async def kafka() -> bool:
            return await kafka_reachable(self.producer)

        async def mongo() -> bool:
            return await mongo_reachable(self.db)

        return {"kafka": kafka, "mongo": mongo}


def serve(service: str, settings_type: type[S], create_app: Callable[[S], FastAPI]) -> None:
    """Runs one service with JSON logs until SIGINT or SIGTERM, finishing in-flight work."""
    try:
        settings = load_settings(settings_type)
    except InvalidConfiguration as exc:
        configure_logging(service=service, level="INFO")
        _refuse(service, exc)
    configure_logging(service=service, level=settings.log_level)
    try:
        app = create_app(settings)
    except InvalidConfiguration as exc:
        _refuse(service, exc)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        timeout_keep_alive=settings.http_idle_timeout_s,
    )
    StoppingServer(config, app).run()


def _refuse(service: str, exc: InvalidConfiguration) -> NoReturn:
    log.critical("%s cannot start: %s", service, exc)
    sys.exit(EX_CONFIG)


class StoppingServer(uvicorn.Server):
    """Runs the app's exit hooks (`app.state.exit_hooks`) as soon as a stop signal arrives.

    uvicorn waits for open connections to close before the app's own shutdown runs, so a response
    that never ends by itself (the auditors' stream) would hold the process until the graceful
    timeout; its hook ends it at once instead.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None:
            for hook in self._app.state.exit_hooks:
                self._loop.call_soon_threadsafe(hook)


@asynccontextmanager
async def connected(
    settings: ServiceSettings, topics: Iterable[Topic]
) -> AsyncIterator[Infrastructure]:
    infra = await Infrastructure.connect(settings, topics)
    try:
        yield infra
    finally:
        await infra.close()


def _terminate_self() -> None:
    signal.raise_signal(signal.SIGTERM)


@asynccontextmanager
async def running(
    workers: Mapping[str, Worker],
    *,
    on_worker_death: Callable[[], None] = _terminate_self,
    watch_interval_s: float = 1.0,
) -> AsyncIterator[dict[str, ReadinessCheck]]:
    """Starts the workers in order and stops them in reverse, so consumers stop before relays.

    Yields one readiness check per worker. A worker whose loop ends on its own leaves the service
    unable to do its job, so the service shuts down gracefully and its supervisor restarts it.
    """
    started: list[Worker] = []
    watchdog: asyncio.Task[None] | None = None
    try:
        for worker in workers.values():
            await worker.start()
            started.append(worker)
        watchdog = asyncio.create_task(
            _watch(workers, on_worker_death, watch_interval_s), name="worker-watchdog"
        )
        yield {name: _running_check(worker) for name, worker in workers.items()}
    finally:
        if watchdog is not None:
            watchdog.cancel()
        for worker in reversed(started):
            await worker.stop()


async def _watch(
    workers: Mapping[str, Worker], on_worker_death: Callable[[], None], interval_s: float
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        dead = [name for name, worker in workers.items() if not worker.running]
        if dead:
            log.error("background loop stopped on its own: %s; shutting down", ", ".join(dead))
            on_worker_death()
            return


def _running_check(worker: Worker) -> ReadinessCheck:
    async def check() -> bool:
        return worker.running

    return check


@dataclass
class ServiceProcess:
    """One service process as its feature wirings share it: the connections, the cipher and
    event keys its outboxes and consumer use, and the background workers each feature adds, kept
    in the order they start (and stop in reverse, so the consumer, added last, stops first)."""

    settings: ServiceSettings
    consumer_group: str
    infra: Infrastructure
    cipher: Cipher
    keys: EventKeys
    clock: Clock
    workers: dict[str, Worker] = field(default_factory=dict)

    @property
    def db(self) -> AsyncDatabase[Document]:
        return self.infra.db

    def relay(self, name: str, collection: str, outbox: Outbox) -> None:
        """Publishes to Kafka what a store commits to `collection` through its `outbox`."""
        relay = OutboxRelay(
            collection=self.infra.db[collection],
            producer=self.infra.producer,
            cipher=self.cipher,
            keys=self.keys,
        )
        outbox.register(relay.wake)
        self.workers[name] = relay

    def add(self, name: str, worker: Worker) -> None:
        self.workers[name] = worker

    def consume(self, subscription: Subscription[D], dependencies: D) -> None:
        """The service's consumer group for its subscription, handling with `dependencies`."""
        self.workers["consumer"] = subscribe(
            settings=self.settings,
            group_id=self.consumer_group,
            subscription=subscription,
            dependencies=dependencies,
            clock=self.clock,
            producer=self.infra.producer,
            keys=self.keys,
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        """Runs the workers; yields the readiness checks of the engines and of each worker."""
        async with running(self.workers) as worker_checks:
            yield self.infra.readiness_checks() | worker_checks
