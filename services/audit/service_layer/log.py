"""Audit's use cases: record an event, page through the log, verify it."""

from __future__ import annotations

from datetime import datetime

from services.audit.domain.chain import AuditEntry, ChainVerification, ChainVerifier, next_entry
from services.audit.domain.pseudonym import pseudonymise
from services.audit.service_layer.ports import AppendConflict, AuditLogRepository
from shared.errors import PoisonEvent, RetryableError
from shared.events.envelope import CloudEvent
from shared.events.models import EVENT_TYPES


async def record_event(
    *, event: CloudEvent, log: AuditLogRepository, pseudonym_key: bytes, now: datetime
) -> None:
    """Appends the event with personal data pseudonymised; an event logged already is skipped.

    The unique event id does the deduplication, so the usual path is one insert.

    The data is validated against its model first, so a field the model does not know cannot
    slip into the log unmasked: such an event fails validation and is dead-lettered.
    """
    model = EVENT_TYPES.get(event.type)
    if model is None:
        raise PoisonEvent(f"unknown event type {event.type}: its personal data cannot be masked")
    data = model.model_validate(event.data).model_dump(mode="json")
    entry = next_entry(
        await log.head(),
        event_id=event.id,
        event_type=event.type,
        source=event.source,
        subject=event.subject,
        event_time=event.time.isoformat(),
        recorded_at=now.isoformat(),
        data=pseudonymise(model, data, pseudonym_key),
    )
    try:
        await log.append(entry)
    except AppendConflict:
        # Either this event is logged already (a redelivery) or another writer took the place.
        if not await log.contains(event.id):
            raise RetryableError(f"audit sequence {entry.sequence} was taken; retrying") from None


async def list_entries(
    *, log: AuditLogRepository, after_sequence: int, subject: str | None, limit: int
) -> list[AuditEntry]:
    """One page of entries in log order."""
    return [
        entry
        async for entry in log.entries(after_sequence=after_sequence, subject=subject, limit=limit)
    ]


async def verify_log(*, log: AuditLogRepository) -> ChainVerification:
    """Re-computes the whole chain from the first entry."""
    verifier = ChainVerifier()
    async for entry in log.entries():
        if not verifier.check(entry):
            break
    return verifier.result()
