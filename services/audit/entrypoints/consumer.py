"""Audit's Kafka entry point: every event of every topic goes into the log."""

from __future__ import annotations

from dataclasses import dataclass

from services.audit.service_layer.log import AuditRecorder
from shared.events.envelope import Event
from shared.events.models import EVENT_TYPES
from shared.messagebus import Received, Subscription


@dataclass(frozen=True)
class Dependencies:
    recorder: AuditRecorder


subscription: Subscription[Dependencies] = Subscription("audit", every_type=True)


@subscription.on(*EVENT_TYPES.values())
async def on_any_event(message: Received[Event], deps: Dependencies) -> None:
    await deps.recorder.record(message)
