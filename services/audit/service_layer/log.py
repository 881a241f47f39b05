"""Audit's use cases: record events, page through the log, verify it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from services.audit.domain.chain import AuditEntry, ChainVerification, ChainVerifier, next_entry
from services.audit.domain.pseudonym import pseudonymise
from services.audit.service_layer.ports import AuditLogRepository
from shared.clock import Clock
from shared.events.envelope import Event
from shared.messagebus import Received


@dataclass
class _Waiting:
    received: Received[Event]
    done: asyncio.Future[None] = field(default_factory=asyncio.Future)


class AuditRecorder:
    """Appends events to the log in the order they arrive, many in one write.

    Handlers call `record` concurrently; what arrives while a write is in flight goes into the
    next one (group commit), so the log costs one insert per batch, not one per event. An event
    logged already (a redelivery) is recognised by its unique id and adds nothing. The data was
    validated against its model, so no field the model does not know reaches the log unmasked.
    """

    def __init__(
        self,
        *,
        log: AuditLogRepository,
        pseudonym_key: bytes,
        clock: Clock,
        max_batch: int = 500,
    ) -> None:
        self._log = log
        self._pseudonym_key = pseudonym_key
        self._clock = clock
        self._max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, received: Received[Event]) -> None:
        """Returns once the event is in the log; raises what the write raised."""
        waiting = _Waiting(received)
        self._queue.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_queued())
        await asyncio.shield(waiting.done)

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = (
                self._queue[: self._max_batch],
                self._queue[self._max_batch :],
            )
            try:
                await self._append(batch)
            except Exception as exc:
                for waiting in batch:
                    if not waiting.done.done():
                        waiting.done.set_exception(exc)

    async def _append(self, batch: list[_Waiting]) -> None:
        while batch:
            entries = self._entries(await self._log.head(), batch)
            added = await self._log.append(entries)
            for waiting in batch[:added]:
                waiting.done.set_result(None)
            batch = batch[added:]
            if batch and await self._log.contains(batch[0].received.event_id):
                batch.pop(0).done.set_result(None)
            # Otherwise another writer took the next sequence: chain again from the new head.

    def _entries(self, head: AuditEntry | None, batch: list[_Waiting]) -> list[AuditEntry]:
        recorded_at = self._clock().isoformat()
        entries = []
        for waiting in batch:
            received = waiting.received
            head = next_entry(
                head,
                event_id=received.event_id,
                event_type=received.data.event_type,
                source=received.source,
                subject=received.data.subject,
                event_time=received.time.isoformat(),
                recorded_at=recorded_at,
                data=pseudonymise(
                    type(received.data),
                    received.data.model_dump(mode="json"),
                    self._pseudonym_key,
                ),
            )
            entries.append(head)
        return entries


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
