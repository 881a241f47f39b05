"""Wires audit: the Mongo log, the consumer of every topic, and the auditors' API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.audit.adapters.mongo_log import MongoAuditLog
from services.audit.config import AuditSettings
from services.audit.entrypoints import api
from services.audit.entrypoints.consumer import AUDITED_TOPICS, on_all_topics
from shared.events.topics import dead_letter_topic
from shared.http import ReadinessCheck, Wiring, build_app
from shared.runtime import connected, running


@asynccontextmanager
async def connect(
    settings: AuditSettings, app: FastAPI
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    key = settings.secret("AUDIT_PSEUDONYM_KEY", settings.pseudonym_key).get_secret_value()
    topics = [*AUDITED_TOPICS, dead_letter_topic(settings.consumer_group)]
    async with connected(settings, topics) as infra:
        repository = MongoAuditLog(infra.db["log"])
        await repository.ensure_indexes()
        app.state.audit_log = repository
        consumer = on_all_topics(
            settings=settings,
            producer=infra.producer,
            repository=repository,
            pseudonym_key=key.encode(),
        )
        async with running({"consumer": consumer}) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(settings: AuditSettings, wiring: Wiring | None = None) -> FastAPI:
    return build_app(
        title="Adminduk Go Digital: audit",
        max_body_bytes=settings.max_body_bytes,
        wiring=wiring or partial(connect, settings),
        routers=[api.router],
    )
