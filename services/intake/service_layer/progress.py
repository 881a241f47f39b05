"""Use case of intake following processing: the citizen's status shows their case's steps."""

from __future__ import annotations

from services.intake.domain.progress import status_change
from services.intake.service_layer.ports import RequestRepository
from shared.events.models import CaseEvent


async def follow_case(*, event: CaseEvent, event_id: str, repository: RequestRepository) -> None:
    """Records the step on the request; a redelivered event records nothing twice."""
    request = await repository.get(event.request_id)
    if request is None:
        return
    change = status_change(event, request.status)
    if change is not None:
        await repository.record_progress(request.request_id, event_id, change)
