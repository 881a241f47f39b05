"""Wires processing: Mongo cases and work queues, the consumer of requests and of its own case
events, the outbox relay to the cases topic, and the staff console API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_queues import MongoQueues
from services.processing.config import ProcessingSettings
from services.processing.domain.calendar import WorkingCalendar
from services.processing.entrypoints import api
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
    calendar = WorkingCalendar(collective_leave=settings.collective_leave)
    async with connected(settings, topics) as infra:
        collection = infra.db["cases"]
        cipher = settings.cipher()
        repository = MongoCaseRepository(collection, cipher)
        await repository.ensure_indexes()
        queues = MongoQueues(infra.db["queues"], infra.db["queue_slots"])
        relay = OutboxRelay(collection=collection, producer=infra.producer, cipher=cipher)
        app.state.context = api.ProcessingContext(
            repository=repository,
            queues=queues,
            outbox_ready=relay.wake,
            calendar=calendar,
            clock=clock,
        )
        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=Dependencies(
                repository=repository,
                queues=queues,
                outbox_ready=relay.wake,
                calendar=calendar,
                default_service_point=settings.default_service_point,
            ),
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
        routers=[api.queues_router, api.router],
        access=ACCESS,
        staff_keys=staff_keys,
    )
