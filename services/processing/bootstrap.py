"""Wires processing: Mongo cases, the requests consumer and the outbox relay to the cases topic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.config import ProcessingSettings
from services.processing.entrypoints.consumer import on_requests
from shared.events.topics import CASES, REQUESTS, dead_letter_topic
from shared.http import ReadinessCheck, Wiring, build_app
from shared.mongo import OutboxRelay
from shared.runtime import connected, running


@asynccontextmanager
async def connect(
    settings: ProcessingSettings, app: FastAPI
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = [REQUESTS, CASES, dead_letter_topic(settings.consumer_group)]
    async with connected(settings, topics) as infra:
        collection = infra.db["cases"]
        repository = MongoCaseRepository(collection)
        await repository.ensure_indexes()
        relay = OutboxRelay(collection=collection, producer=infra.producer)
        consumer = on_requests(
            settings=settings,
            producer=infra.producer,
            repository=repository,
            outbox_ready=relay.wake,
        )
        async with running({"outbox_relay": relay, "consumer": consumer}) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(settings: ProcessingSettings, wiring: Wiring | None = None) -> FastAPI:
    return build_app(
        title="Adminduk Go Digital: processing",
        max_body_bytes=settings.max_body_bytes,
        wiring=wiring or partial(connect, settings),
    )
