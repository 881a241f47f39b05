"""Wires processing: Mongo cases and work queues, the consumer of requests and of its own case
events, the outbox relay to the cases topic, and the staff console API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from services.processing.adapters.batching import Batching
from services.processing.adapters.mongo_at_risk import MongoAtRisk
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_queues import MongoQueues
from services.processing.adapters.mongo_report import MongoReportStore
from services.processing.adapters.mongo_timers import MongoTimers
from services.processing.adapters.report_names_file import load_districts, load_staff_names
from services.processing.config import ProcessingSettings
from services.processing.entrypoints import api
from services.processing.entrypoints.access import ACCESS
from services.processing.entrypoints.consumer import (
    Dependencies,
    LetterDependencies,
    subscription,
)
from services.processing.entrypoints.report_api import ReportContext, reports_router
from services.processing.letters import routes as letters_api
from services.processing.letters.mongo import (
    MongoLetterIndex,
    MongoLetterRepository,
    MongoLetterScans,
)
from services.processing.service_layer import deadlines
from services.processing.service_layer.known_cases import KnownCases
from services.processing.templates.monthly_report import ReportNames
from shared.auth import KeySource
from shared.clock import Clock, system_clock
from shared.events.sealing import event_keys
from shared.http import ReadinessCheck, StreamedBody, Wiring, build_app
from shared.kafka import service_topics, subscribe
from shared.mongo import OutboxRelay
from shared.polling import PollingLoop
from shared.runtime import Worker, connected, running

log = logging.getLogger(__name__)


@asynccontextmanager
async def connect(
    settings: ProcessingSettings,
    app: FastAPI,
    *,
    names: ReportNames,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    topics = service_topics(
        "processing", subscription=subscription, group_id=settings.consumer_group
    )
    calendar = settings.calendar()
    keys = event_keys(settings, service="processing", handled=subscription.events)
    async with connected(settings, topics) as infra:
        collection = infra.db["cases"]
        cipher = settings.cipher()
        stored_cases = MongoCaseRepository(collection, cipher)
        await stored_cases.ensure_indexes()
        batching = Batching(settings.write_batch_max, settings.write_batch_delay_s)
        report_store = MongoReportStore(
            infra.db["report_counters"],
            infra.db["report_deltas"],
            batching,
            earlier=infra.db["report_cases"],
        )
        repository = KnownCases(
            stored_cases, capacity=settings.known_cases, earlier=report_store.progress_kept
        )
        queues = MongoQueues(infra.db["queues"], infra.db["queue_slots"], batching)
        timers = MongoTimers(infra.db["deadline_timers"], infra.db["deadline_cursor"], batching)
        await timers.adopt_shards()
        at_risk = MongoAtRisk(infra.db["at_risk"])
        relay = OutboxRelay(
            collection=collection, producer=infra.producer, cipher=cipher, keys=keys
        )
        stored_cases.outgoing.register(relay.wake)
        letters = MongoLetterRepository(infra.db["letters"], infra.db["agenda_heads"], cipher)
        letter_index = MongoLetterIndex(infra.db["letter_index"])
        letter_relay = OutboxRelay(
            collection=infra.db["letters"], producer=infra.producer, cipher=cipher, keys=keys
        )
        letters.outgoing.register(letter_relay.wake)
        letter_policy = settings.letter_policy()
        app.state.report = ReportContext(
            store=report_store, calendar=calendar, clock=clock, letters=letters, names=names
        )
        app.state.letters = letters_api.LettersContext(
            repository=letters,
            scans=MongoLetterScans(
                infra.db["letter_scans"], infra.db["letter_scan_chunks"], cipher
            ),
            index=letter_index,
            policy=letter_policy,
            calendar=calendar,
            clock=clock,
            due_soon_within=timedelta(hours=settings.letter_due_soon_hours),
            max_scan_bytes=settings.max_letter_scan_bytes,
        )
        app.state.context = api.ProcessingContext(
            repository=repository,
            queues=queues,
            at_risk=at_risk,
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
                timers=timers,
                at_risk=at_risk,
                calendar=calendar,
                default_service_point=settings.default_service_point,
                report=report_store,
                letters=LetterDependencies(
                    repository=letters,
                    index=letter_index,
                    policy=letter_policy,
                ),
            ),
            clock=clock,
            producer=infra.producer,
            keys=keys,
        )
        deadline_timers = PollingLoop(
            name="deadline-timers",
            sweep=lambda: deadlines.fire_due(
                timers=timers,
                repository=repository,
                now=clock(),
                letters=letters,
            ),
            sweep_interval_s=settings.deadline_sweep_interval_s,
        )
        report_compaction = PollingLoop(
            name="report-compaction",
            sweep=report_store.compact,
            sweep_interval_s=settings.report_compaction_interval_s,
        )
        workers: dict[str, Worker] = {
            "outbox_relay": relay,
            "letter_outbox_relay": letter_relay,
            "consumer": consumer,
            "deadline_timers": deadline_timers,
            "report_compaction": report_compaction,
        }
        async with running(workers) as worker_checks:
            yield infra.readiness_checks() | worker_checks


def create_app(
    settings: ProcessingSettings,
    wiring: Wiring | None = None,
    *,
    staff_keys: KeySource | None = None,
) -> FastAPI:
    names = report_names(settings)
    return build_app(
        title="Adminduk Go Digital: processing",
        settings=settings,
        wiring=wiring or partial(connect, settings, names=names),
        routers=[
            api.queues_router,
            api.supervision_router,
            api.router,
            reports_router,
            letters_api.router,
        ],
        access=ACCESS,
        staff_keys=staff_keys,
        streamed_routes={
            letters_api.SCAN_PATH: StreamedBody(
                max_bytes=settings.max_letter_scan_bytes, timeout_s=settings.letter_scan_timeout_s
            )
        },
    )


def report_names(settings: ProcessingSettings) -> ReportNames:
    """The report's names of districts and officers, read and checked once at start."""
    if settings.staff_directory is None:
        log.warning("no PROCESSING_STAFF_DIRECTORY: the monthly report shows officers' subjects")
    return ReportNames(
        districts=load_districts(settings.districts_file),
        officers={}
        if settings.staff_directory is None
        else load_staff_names(settings.staff_directory),
    )
