"""Use case of intake following processing: the citizen's status shows their case's steps."""

from __future__ import annotations

from services.intake.domain.progress import shown_at_same_status, status_change
from services.intake.service_layer.ports import RequestRepository
from shared.events.models.cases import CaseEvent


async def follow_case(*, event: CaseEvent, event_id: str, repository: RequestRepository) -> None:
    """Records the step on the request in one conditional write, without reading it first: a
    redelivered event, a step that leaves the status as it is and a step of an unknown request
    all record nothing."""
    await repository.record_progress(
        event.request_id,
        event_id,
        status_change(event),
        even_if_current=shown_at_same_status(event),
    )
