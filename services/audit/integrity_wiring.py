"""Wires the integrity alerts into audit's process: the rules' engine as a polling loop, the
alerts' outbox relay, and the auditors' alerts API context. `bootstrap.connect` calls it."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.audit.adapters.mongo_alerts import MongoAlerts
from services.audit.adapters.mongo_rule_memory import MongoEngineProgress
from services.audit.adapters.staff_identities_file import load_staff_directory
from services.audit.config import AuditSettings
from services.audit.domain.integrity import Context, StaffIdentity, Thresholds
from services.audit.entrypoints.integrity_api import IntegrityContext
from services.audit.service_layer.integrity import IntegrityEngine
from services.audit.service_layer.ports import CheckpointStore, LogEntries, TreeNodes
from shared.clock import Clock
from shared.events.sealing import EventKeys
from shared.mongo import OutboxRelay
from shared.polling import PollingLoop
from shared.runtime import Infrastructure, Worker

log = logging.getLogger(__name__)


def thresholds(settings: AuditSettings) -> Thresholds:
    return Thresholds(
        bulk_reads_per_day=settings.integrity_bulk_reads_per_day,
        send_backs_per_request=settings.integrity_send_backs_per_request,
        breaches_per_officer_month=settings.integrity_breaches_per_officer_month,
        valid_queue_reasons=settings.integrity_queue_reasons,
        memory_days=settings.integrity_memory_days,
    )


def staff_directory(settings: AuditSettings, *, key: bytes) -> dict[str, StaffIdentity]:
    if settings.staff_directory is None:
        log.warning("no AUDIT_STAFF_DIRECTORY: the self-dealing rule has no officer to compare")
        return {}
    return load_staff_directory(settings.staff_directory, key=key)


def integrity_workers(
    settings: AuditSettings,
    infra: Infrastructure,
    app: FastAPI,
    *,
    entries: LogEntries,
    nodes: TreeNodes,
    checkpoints: CheckpointStore,
    staff: dict[str, StaffIdentity],
    keys: EventKeys,
    clock: Clock,
) -> dict[str, Worker]:
    """The alerts' relay, then the engine, in the order they start (and stop in reverse)."""
    cipher = settings.cipher()
    collection = infra.db["integrity_alerts"]
    relay = OutboxRelay(collection=collection, producer=infra.producer, cipher=cipher, keys=keys)
    alerts = MongoAlerts(collection, cipher)
    alerts.outgoing.register(relay.wake)
    engine = IntegrityEngine(
        entries=entries,
        progress=MongoEngineProgress(infra.db["integrity_engine"]),
        alerts=alerts,
        context=Context(
            thresholds=thresholds(settings),
            calendar=settings.calendar(),
            staff=staff,
        ),
        clock=clock,
    )
    app.state.integrity = IntegrityContext(
        alerts=alerts,
        nodes=nodes,
        checkpoints=checkpoints,
        clock=clock,
    )
    engine_loop = PollingLoop(
        name="integrity", sweep=engine.run, sweep_interval_s=settings.integrity_interval_s
    )
    return {"integrity_alerts_outbox": relay, "integrity": engine_loop}
