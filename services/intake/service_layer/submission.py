"""Use cases of intake: submit a request, look one up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.citizen_request import CitizenRequest, SubmissionForm, submit
from services.intake.service_layer.ports import RequestRepository
from shared.events.envelope import CloudEvent
from shared.polling import OutboxReady

SOURCE = "/adminduk/intake"
_IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0c1d3e-8a55-4d0f-9f3a-2f1f4b8c6a10")


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different submission."""


@dataclass(frozen=True)
class SubmissionOutcome:
    request: CitizenRequest
    created: bool


def request_id_for(idempotency_key: str | None) -> str:
    """A fresh id, or the same id every time for the same idempotency key."""
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, idempotency_key))


async def submit_request(
    *,
    form: SubmissionForm,
    idempotency_key: str | None,
    repository: RequestRepository,
    catalogue: ServiceCatalogue,
    outbox_ready: OutboxReady,
    now: datetime,
) -> SubmissionOutcome:
    """Stores a new request and its RequestSubmitted event, or returns the one a retry refers to."""
    request = submit(
        request_id=request_id_for(idempotency_key), form=form, catalogue=catalogue, now=now
    )
    outbox = [CloudEvent.wrap(event, source=SOURCE, time=now) for event in request.events]
    if await repository.add(request, outbox):
        outbox_ready(request.request_id, outbox)
        return SubmissionOutcome(request=request, created=True)
    existing = await repository.get(request.request_id)
    if existing is None or existing.form_digest != request.form_digest:
        raise IdempotencyConflict(request.request_id)
    return SubmissionOutcome(request=existing, created=False)


async def get_request(*, request_id: str, repository: RequestRepository) -> CitizenRequest | None:
    """Looks a request up by its id."""
    return await repository.get(request_id)
