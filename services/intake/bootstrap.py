"""Wires intake: Mongo repository, outbox relay to Kafka, catalogue file, and the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.config import IntakeSettings
from services.intake.entrypoints import api
from shared.clock import Clock, system_clock
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics
from shared.mongo import OutboxRelay
from shared.runtime import connected, running


@asynccontextmanager
async def connect(
    settings: IntakeSettings, app: FastAPI, *, clock: Clock = system_clock
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    async with connected(settings, service_topics("intake")) as infra:
        collection = infra.db["requests"]
        relay = OutboxRelay(collection=collection, producer=infra.producer)
        app.state.context = api.IntakeContext(
            repository=MongoRequestRepository(collection),
            idempotency_keys=MongoIdempotencyKeys(infra.db["idempotency_keys"]),
            catalogue=load_catalogue(),
            outbox_ready=relay.wake,
            clock=clock,
        )
        async with running({"outbox_relay": relay}) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(settings: IntakeSettings, wiring: Wiring | None = None) -> FastAPI:
    return build_app(
        title="Adminduk Go Digital: intake",
        settings=settings,
        wiring=wiring or partial(connect, settings),
        routers=[api.router],
    )
