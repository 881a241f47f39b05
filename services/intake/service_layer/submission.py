"""Use cases of intake: submit a request, look one up."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.citizen_request import CitizenRequest, SubmissionForm, submit
from services.intake.service_layer.ports import IdempotencyKeyRepository, RequestRepository
from shared.events.envelope import CloudEvent
from shared.polling import OutboxReady

SOURCE = "/adminduk/intake"


class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different submission."""


@dataclass(frozen=True)
class SubmissionOutcome:
    request: CitizenRequest
    created: bool


def idempotency_key_hash(idempotency_key: str) -> str:
    """What the server keeps of a client's key: enough to recognise it, not the key itself."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


async def submit_request(
    *,
    form: SubmissionForm,
    idempotency_key: str | None,
    repository: RequestRepository,
    idempotency_keys: IdempotencyKeyRepository,
    catalogue: ServiceCatalogue,
    outbox_ready: OutboxReady,
    now: datetime,
) -> SubmissionOutcome:
    """Stores a new request and its RequestSubmitted event, or returns the one a retry refers to.

    Request ids are random, never derived from what a caller sends. A key is tied to a fresh id
    before the request is stored under it; a retry after a crash in between finds the key's id
    and stores the request then. A form that is refused ties no key.
    """
    fresh_id = str(uuid.uuid4())
    request = submit(request_id=fresh_id, form=form, catalogue=catalogue, now=now)
    if idempotency_key is not None:
        request_id = await idempotency_keys.claim(
            key_hash=idempotency_key_hash(idempotency_key), request_id=fresh_id, now=now
        )
        if request_id != fresh_id:
            request = submit(request_id=request_id, form=form, catalogue=catalogue, now=now)
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
