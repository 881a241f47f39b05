"""Processing's Kafka entry point: the events it consumes, translated into use cases.

Besides intake's submissions, processing reads its own case events: each step after which a case
waits for work puts it in that work's queue, so a queue can never miss a case whose step was
stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.processing.domain.case import Calendar
from services.processing.service_layer import cases
from services.processing.service_layer.ports import CaseRepository, WorkQueues
from shared.events.envelope import RequestEvent
from shared.events.models import (
    CaseApproved,
    CaseOpened,
    CaseReleased,
    CaseResubmitted,
    CaseVerified,
    DocumentIssued,
    RequestSubmitted,
)
from shared.messagebus import Received, Subscription
from shared.polling import OutboxReady


@dataclass(frozen=True)
class Dependencies:
    repository: CaseRepository
    queues: WorkQueues
    outbox_ready: OutboxReady
    calendar: Calendar
    default_service_point: str


subscription: Subscription[Dependencies] = Subscription("processing")


@subscription.on(RequestSubmitted)
async def on_request_submitted(message: Received[RequestSubmitted], deps: Dependencies) -> None:
    await cases.open_case_for_request(
        submitted=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        outbox_ready=deps.outbox_ready,
        calendar=deps.calendar,
        default_service_point=deps.default_service_point,
        now=message.now,
    )


@subscription.on(
    CaseOpened, CaseReleased, CaseResubmitted, CaseVerified, CaseApproved, DocumentIssued
)
async def on_waiting_for_work(message: Received[RequestEvent], deps: Dependencies) -> None:
    await cases.queue_case(
        request_id=message.data.request_id,
        returned=isinstance(message.data, CaseReleased),
        repository=deps.repository,
        queues=deps.queues,
        at=message.time,
    )
