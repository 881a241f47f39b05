"""Wires audit: the Mongo log, the consumer of every topic, and the auditors' API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from services.audit.adapters.mongo_log import MongoAuditLog
from services.audit.config import AuditSettings
from services.audit.entrypoints import api
from services.audit.entrypoints.access import ACCESS
from services.audit.entrypoints.consumer import Dependencies, subscription
from services.audit.service_layer.log import AuditRecorder
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.http import ReadinessCheck, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.runtime import connected, running


@asynccontextmanager
async def connect(
    settings: AuditSettings, app: FastAPI, *, clock: Clock = system_clock
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    key = settings.secret("AUDIT_PSEUDONYM_KEY", settings.pseudonym_key).get_secret_value()
    topics = service_topics("audit", subscription=subscription, group_id=settings.consumer_group)
    async with connected(settings, topics) as infra:
        repository = MongoAuditLog(infra.db["log"])
        await repository.ensure_indexes()
        app.state.audit_log = repository
        recorder = AuditRecorder(log=repository, pseudonym_key=key.encode(), clock=clock)
        consumer = subscribe(
            settings=settings,
            group_id=settings.consumer_group,
            subscription=subscription,
            dependencies=Dependencies(recorder=recorder),
            clock=clock,
            producer=infra.producer,
        )
        async with running({"consumer": consumer}) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(
    settings: AuditSettings, wiring: Wiring | None = None, *, staff_keys: KeySource | None = None
) -> FastAPI:
    return build_app(
        title="Adminduk Go Digital: audit",
        settings=settings,
        wiring=wiring or partial(connect, settings),
        routers=[api.router],
        access=ACCESS,
        staff_keys=staff_keys,
        unbounded_paths=[api.VERIFY_PATH],
    )
