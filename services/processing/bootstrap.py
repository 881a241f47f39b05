"""Wires processing, one function per feature (official letters, cases and their queues,
deadlines, the monthly report), each adding its relays and loops around the consumer of requests
and of its own case events; then the staff console API."""

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
from services.processing.entrypoints import api, queues_api, supervision_api
from services.processing.entrypoints.access import ACCESS
from services.processing.entrypoints.consumer import Dependencies, subscription
from services.processing.entrypoints.report_api import ReportContext, reports_router
from services.processing.letters import routes as letters_api
from services.processing.letters import step_routes as letter_steps_api
from services.processing.letters.handlers import LetterDependencies
from services.processing.letters.mongo import (
    MongoLetterIndex,
    MongoLetterRepository,
    MongoLetterScans,
)
from services.processing.service_layer import deadlines
from services.processing.service_layer.known_cases import KnownCases
from services.processing.templates.monthly_report import ReportNames
from shared.auth import KeySource
from shared.calendar import WorkingCalendar
from shared.clock import Clock, system_clock
from shared.dependencies import provide
from shared.events.sealing import event_keys
from shared.http.app import ReadinessCheck, Wiring, build_app
from shared.http.middleware import StreamedBody
from shared.kafka import service_topics
from shared.polling import PollingLoop
from shared.runtime import ServiceProcess, connected

log = logging.getLogger(__name__)


@asynccontextmanager
async def connect(
    settings: ProcessingSettings,
    app: FastAPI,
    *,
    names: ReportNames,
    clock: Clock = system_clock,
) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
    """Connects the engines, then wires each feature in turn around the consumer."""
    topics = service_topics(
        "processing", subscription=subscription, group_id=settings.consumer_group
    )
    keys = event_keys(settings, service="processing", handled=subscription.events)
    async with connected(settings, topics) as infra:
        process = ServiceProcess(
            settings, settings.consumer_group, infra, settings.cipher(), keys, clock
        )
        batching = Batching(settings.write_batch_max, settings.write_batch_delay_s)
        report = MongoReportStore(
            process.db["report_counters"],
            process.db["report_deltas"],
            batching,
            earlier=process.db["report_cases"],
        )
        letters = MongoLetterRepository(
            process.db["letters"], process.db["agenda_heads"], process.cipher
        )
        calendar = settings.calendar()
        handling = wire_letters(app, process, settings, calendar, letters)
        cases = await wire_cases(app, process, settings, calendar, batching, report, handling)
        process.consume(subscription, cases)
        wire_deadlines(process, settings, cases, letters)
        wire_reports(app, process, settings, names, calendar, report, letters)
        async with process.running() as checks:
            yield checks


def wire_letters(
    app: FastAPI,
    process: ServiceProcess,
    settings: ProcessingSettings,
    calendar: WorkingCalendar,
    letters: MongoLetterRepository,
) -> LetterDependencies:
    """Official letters: the agenda, dispositions, scans and their deadlines; returns what the
    consumer handles letter events with."""
    process.relay("letter_outbox_relay", "letters", letters.outgoing)
    index = MongoLetterIndex(process.db["letter_index"])
    policy = settings.letter_policy()
    provide(
        app,
        letters_api.LettersContext(
            repository=letters,
            scans=MongoLetterScans(
                process.db["letter_scans"], process.db["letter_scan_chunks"], process.cipher
            ),
            index=index,
            policy=policy,
            calendar=calendar,
            clock=process.clock,
            due_soon_within=timedelta(hours=settings.letter_due_soon_hours),
            max_scan_bytes=settings.max_letter_scan_bytes,
        ),
    )
    return LetterDependencies(repository=letters, index=index, policy=policy)


async def wire_cases(
    app: FastAPI,
    process: ServiceProcess,
    settings: ProcessingSettings,
    calendar: WorkingCalendar,
    batching: Batching,
    report: MongoReportStore,
    letters: LetterDependencies,
) -> Dependencies:
    """Cases, their work queues, deadline timers and the at-risk list; returns what the
    consumer handles requests and case events with."""
    stored_cases = MongoCaseRepository(process.db["cases"], process.cipher)
    await stored_cases.ensure_indexes()
    process.relay("outbox_relay", "cases", stored_cases.outgoing)
    repository = KnownCases(
        stored_cases, capacity=settings.known_cases, earlier=report.progress_kept
    )
    queues = MongoQueues(process.db["queues"], process.db["queue_slots"], batching)
    timers = MongoTimers(process.db["deadline_timers"], process.db["deadline_cursor"], batching)
    await timers.adopt_shards()
    at_risk = MongoAtRisk(process.db["at_risk"])
    provide(
        app,
        api.ProcessingContext(
            repository=repository,
            queues=queues,
            at_risk=at_risk,
            calendar=calendar,
            clock=process.clock,
        ),
    )
    return Dependencies(
        repository=repository,
        queues=queues,
        timers=timers,
        at_risk=at_risk,
        calendar=calendar,
        default_service_point=settings.default_service_point,
        report=report,
        letters=letters,
    )


def wire_deadlines(
    process: ServiceProcess,
    settings: ProcessingSettings,
    cases: Dependencies,
    letters: MongoLetterRepository,
) -> None:
    """Fires the deadline timers of cases and letters as their minutes pass."""
    process.add(
        "deadline_timers",
        PollingLoop(
            name="deadline-timers",
            sweep=lambda: deadlines.fire_due(
                timers=cases.timers,
                repository=cases.repository,
                now=process.clock(),
                letters=letters,
            ),
            sweep_interval_s=settings.deadline_sweep_interval_s,
        ),
    )


def wire_reports(
    app: FastAPI,
    process: ServiceProcess,
    settings: ProcessingSettings,
    names: ReportNames,
    calendar: WorkingCalendar,
    report: MongoReportStore,
    letters: MongoLetterRepository,
) -> None:
    """The monthly evaluation: its counters, compacted in the background, and its pages."""
    provide(
        app,
        ReportContext(
            store=report,
            calendar=calendar,
            clock=process.clock,
            letters=letters,
            names=names,
        ),
    )
    process.add(
        "report_compaction",
        PollingLoop(
            name="report-compaction",
            sweep=report.compact,
            sweep_interval_s=settings.report_compaction_interval_s,
        ),
    )


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
            queues_api.router,
            supervision_api.router,
            api.router,
            reports_router,
            letters_api.router,
            letter_steps_api.steps_router,
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
