"""Wires processing: Mongo cases, the requests consumer and the outbox relay to the cases topic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.config import ProcessingSettings
from services.processing.entrypoints.access import ACCESS
from services.processing.entrypoints.consumer import Dependencies, subscription
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
from shared.runtime import connected, running


@asynccontextmanager
async def connect(
    settings: ProcessingSettings, app: FastAPI, *, clock: Clock = system_clock
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics(
        "processing", subscription=subscription, group_id=settings.consumer_group
    )
    async with connected(settings, topics) as infra:
        collection = infra.db["cases"]
        cipher = settings.cipher()
        repository = MongoCaseRepository(collection, cipher)
        await repository.ensure_indexes()
        relay = OutboxRelay(collection=collection, producer=infra.producer, cipher=cipher)
        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=Dependencies(repository=repository, outbox_ready=relay.wake),
            clock=clock,
            producer=infra.producer,
        )
        async with running({"outbox_relay": relay, "consumer": consumer}) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(
    settings: ProcessingSettings,
    wiring: Wiring | None = None,
    *,
    staff_keys: KeySource | None = None,
) -> FastAPI:
    return build_app(
        title="Adminduk Go Digital: processing",
        settings=settings,
        wiring=wiring or partial(connect, settings),
        access=ACCESS,
        staff_keys=staff_keys,
    )
