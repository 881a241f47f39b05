"""Processing's Kafka entry point: the events it consumes, translated into use cases."""

from __future__ import annotations

from dataclasses import dataclass

from services.processing.service_layer import cases
from services.processing.service_layer.ports import CaseRepository
from shared.events.models import RequestSubmitted
from shared.messagebus import Received, Subscription
from shared.polling import OutboxReady


@dataclass(frozen=True)
class Dependencies:
    repository: CaseRepository
    outbox_ready: OutboxReady


subscription: Subscription[Dependencies] = Subscription("processing")


@subscription.on(RequestSubmitted)
async def on_request_submitted(message: Received[RequestSubmitted], deps: Dependencies) -> None:
    await cases.open_case_for_request(
        submitted=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        outbox_ready=deps.outbox_ready,
        now=message.now,
    )
