"""Intake's Kafka entry point: the case steps that change what the citizen sees."""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.service_layer import progress
from services.intake.service_layer.ports import RequestRepository
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseClaimed,
    CaseCompleted,
    CaseEvent,
    CaseRejected,
    CaseResubmitted,
    DocumentIssued,
    RevisionRequested,
)
from shared.messagebus import Received, Subscription


@dataclass(frozen=True)
class Dependencies:
    repository: RequestRepository


subscription: Subscription[Dependencies] = Subscription("intake")


@subscription.on(
    CaseClaimed,
    RevisionRequested,
    CaseResubmitted,
    CaseApproved,
    DocumentIssued,
    CaseRejected,
    CaseCompleted,
    CaseCancelled,
)
async def on_case_step(message: Received[CaseEvent], deps: Dependencies) -> None:
    await progress.follow_case(
        event=message.data, event_id=message.event_id, repository=deps.repository
    )
