"""Wires the integrity alerts into audit's process: the rules' engine as a polling loop, the
alerts' outbox relay, and the auditors' alerts API context. `bootstrap.connect` calls it
as one of its feature wirings."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.audit.adapters.mongo_alerts import MongoAlerts
from services.audit.adapters.mongo_rule_memory import MongoEngineProgress
from services.audit.adapters.staff_identities_file import load_staff_directory
from services.audit.config import AuditSettings
from services.audit.domain.integrity.context import Context, StaffIdentity, Thresholds
from services.audit.entrypoints.api import AuditContext
from services.audit.entrypoints.integrity_api import IntegrityContext
from services.audit.service_layer.integrity import IntegrityEngine
from shared.dependencies import provide
from shared.polling import PollingLoop
from shared.runtime import ServiceProcess

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


def wire_integrity(
    app: FastAPI,
    process: ServiceProcess,
    settings: AuditSettings,
    *,
    log: AuditContext,
    staff: dict[str, StaffIdentity],
) -> None:
    """The alerts' relay, then the engine, in the order they start (and stop in reverse), and
    the auditors' alerts API."""
    alerts = MongoAlerts(process.db["integrity_alerts"], process.cipher)
    process.relay("integrity_alerts_outbox", "integrity_alerts", alerts.outgoing)
    engine = IntegrityEngine(
        entries=log.entries,
        progress=MongoEngineProgress(process.db["integrity_engine"]),
        alerts=alerts,
        context=Context(
            thresholds=thresholds(settings),
            calendar=settings.calendar(),
            staff=staff,
        ),
        clock=process.clock,
    )
    provide(
        app,
        IntegrityContext(
            alerts=alerts,
            nodes=log.nodes,
            checkpoints=log.checkpoints,
            clock=process.clock,
        ),
    )
    process.add(
        "integrity",
        PollingLoop(
            name="integrity", sweep=engine.run, sweep_interval_s=settings.integrity_interval_s
        ),
    )
