"""Processing's Kafka entry point: the events it consumes, translated into use cases.

Besides intake's submissions, processing reads its own case events: each step after which a case
waits for work puts it in that work's queue, and each step that sets a deadline sets its timers,
so neither a queue nor a timer can miss a case whose step was stored. What these handlers need
of the case beyond the event they take from `KnownCases`, which the step's own write filled, so
they read nothing back. Its letter events go to the letters' own handlers
(`letters/handlers.py`), registered on the same subscription after these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from services.processing.domain.case import Calendar
from services.processing.letters import handlers as letter_handlers
from services.processing.letters.handlers import LetterDependencies
from services.processing.service_layer import cases, deadlines, supervision
from services.processing.service_layer.known_cases import KnownCases
from services.processing.service_layer.ports import AtRisk, DeadlineTimers, ReportStore, WorkQueues
from services.processing.service_layer.report import record_for_report
from shared.events.envelope import RequestEvent
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseClaimed,
    CaseCompleted,
    CaseEvent,
    CaseOpened,
    CaseRejected,
    CaseReleased,
    CaseResubmitted,
    CaseVerified,
    DeadlineBreached,
    DeadlineWarning,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import (
    DocumentAttached,
    RequestCancelled,
    RequestCompleted,
    RequestResubmitted,
    RequestSubmitted,
)
from shared.messagebus import Received, Subscription


@dataclass(frozen=True)
class Dependencies:
    repository: KnownCases
    queues: WorkQueues
    timers: DeadlineTimers
    at_risk: AtRisk
    calendar: Calendar
    default_service_point: str
    report: ReportStore
    letters: LetterDependencies


subscription: Subscription[Dependencies] = Subscription("processing")


@subscription.on(RequestSubmitted)
async def on_request_submitted(message: Received[RequestSubmitted], deps: Dependencies) -> None:
    await cases.open_case_for_request(
        submitted=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        calendar=deps.calendar,
        default_service_point=deps.default_service_point,
        now=message.now,
    )
    # After the case, so the citizen's notice waits for nothing else.
    await record_for_report(
        event=message.data,
        event_id=message.event_id,
        trails=deps.repository,
        store=deps.report,
        calendar=deps.calendar,
    )


@subscription.on(RequestCancelled)
async def on_request_cancelled(message: Received[RequestCancelled], deps: Dependencies) -> None:
    await cases.cancel_case(
        cancelled=message.data,
        repository=deps.repository,
        now=message.now,
    )


@subscription.on(RequestResubmitted)
async def on_request_resubmitted(message: Received[RequestResubmitted], deps: Dependencies) -> None:
    await cases.resume_case(
        resubmitted=message.data,
        repository=deps.repository,
        calendar=deps.calendar,
        now=message.now,
    )


@subscription.on(DocumentAttached, RequestCompleted)
async def on_request_documents(message: Received[RequestEvent], deps: Dependencies) -> None:
    if isinstance(message.data, DocumentAttached | RequestCompleted):
        await cases.note_documents(event=message.data, repository=deps.repository)


@subscription.on(
    CaseOpened, CaseReleased, CaseResubmitted, CaseVerified, CaseApproved, DocumentIssued
)
async def on_waiting_for_work(message: Received[RequestEvent], deps: Dependencies) -> None:
    """Queues the case for its next work and, for a new deadline, sets its timers; the report
    counts the step. All three wait for one batch of writes together."""
    event = message.data
    facts = await deps.repository.facts(event.request_id)
    if facts is None:
        return
    work: list[Coroutine[Any, Any, None]] = [
        cases.queue_case(
            facts=facts,
            request_id=event.request_id,
            after=event,
            queues=deps.queues,
            at=message.time,
        )
    ]
    if isinstance(event, CaseEvent):
        work.append(_record(message, deps))
    if isinstance(event, CaseOpened | CaseResubmitted):
        work.append(
            deadlines.set_deadline_timers(
                request_id=event.request_id,
                start=event.opened_at if isinstance(event, CaseOpened) else facts.opened_at,
                due_at=event.due_at,
                repository=deps.repository,
                timers=deps.timers,
                calendar=deps.calendar,
                now=message.now,
            )
        )
    # gather, not a task group: a failure must reach the consumer as itself (a transient one
    # is retried), not wrapped in a group.
    await asyncio.gather(*work)


@subscription.on(DeadlineWarning, DeadlineBreached)
async def on_deadline_mark(message: Received[CaseEvent], deps: Dependencies) -> None:
    if isinstance(message.data, DeadlineWarning | DeadlineBreached):
        await supervision.note_at_risk(
            event=message.data, repository=deps.repository, at_risk=deps.at_risk
        )


@subscription.on(CaseClaimed, RevisionRequested, CaseRejected, CaseCompleted, CaseCancelled)
async def on_case_step(message: Received[CaseEvent], deps: Dependencies) -> None:
    """Steps that only the monthly report follows."""
    await _record(message, deps)


async def _record(message: Received[RequestEvent], deps: Dependencies) -> None:
    await record_for_report(
        event=message.data,
        event_id=message.event_id,
        trails=deps.repository,
        store=deps.report,
        calendar=deps.calendar,
    )


letter_handlers.register(subscription)
