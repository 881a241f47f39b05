"""Processing's use cases on cases."""

from __future__ import annotations

from datetime import datetime

from services.processing.domain.case import open_case
from services.processing.service_layer.ports import CaseRepository
from shared.events.envelope import CloudEvent
from shared.events.models import RequestSubmitted
from shared.polling import OutboxReady

SOURCE = "/adminduk/processing"


async def open_case_for_request(
    *,
    submitted: RequestSubmitted,
    event_id: str,
    repository: CaseRepository,
    outbox_ready: OutboxReady,
    now: datetime,
) -> None:
    """Opens a case for a submitted request; a redelivered event opens nothing."""
    case = open_case(submitted, now=now)
    outbox = [CloudEvent.wrap(item, source=SOURCE, time=now) for item in case.events]
    if await repository.add(case, processed_event_id=event_id, outbox=outbox):
        outbox_ready(case.request_id, outbox)
