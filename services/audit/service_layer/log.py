"""Audit's use cases for entries: record events in arrival order, page through them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services.audit.domain.entry import LogEntry
from services.audit.domain.pseudonym import pseudonymise
from services.audit.service_layer.ports import LogEntries
from shared.clock import Clock
from shared.events.envelope import Event
from shared.messagebus import Received


@dataclass
class _Waiting:
    received: Received[Event]
    done: asyncio.Future[None] = field(default_factory=asyncio.Future)


class AuditRecorder:
    """Appends events to the log in the order they arrive, many in one write.

    Handlers call `record` concurrently; what arrives while a write is in flight, or within
    `linger_s` of the first event of a batch, goes into the next one (group commit), so the log
    costs one insert per batch, not one per event. Each entry takes the next index after the end
    the log knows; of several audit instances appending at once, one gets the index and the others
    look up the new end and try again after it. An event logged already (a redelivery) is refused
    by its unique id while its index is free, and adds nothing. What was appended is handed to
    `appended` (the log's followers).
    The data was validated against its model, so no field the model does not know reaches the
    log unmasked.
    """

    def __init__(
        self,
        *,
        log: LogEntries,
        pseudonym_key: bytes,
        clock: Clock,
        appended: Callable[[Sequence[LogEntry]], None] = lambda entries: None,
        max_batch: int = 500,
        linger_s: float = 0.0,
    ) -> None:
        self._log = log
        self._appended = appended
        self._pseudonym_key = pseudonym_key
        self._clock = clock
        self._max_batch = max_batch
        self._linger_s = linger_s
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
        if self._linger_s:
            await asyncio.sleep(self._linger_s)
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
            start = self._log.end()
            entries = self._entries(start, batch)
            added = await self._log.append(entries)
            self._appended(entries[:added])
            for waiting in batch[:added]:
                waiting.done.set_result(None)
            batch = batch[added:]
            if batch and await self._log.size() == start + added:
                # The index was free, so the event's id was taken: it is logged already.
                batch.pop(0).done.set_result(None)
            # Otherwise another writer took the next index: number again from the new end.

    def _entries(self, start: int, batch: list[_Waiting]) -> list[LogEntry]:
        recorded_at = self._clock().isoformat()
        entries = []
        for index, waiting in enumerate(batch, start=start):
            received = waiting.received
            entry = LogEntry(
                index=index,
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
            entries.append(entry)
        return entries


async def list_entries(
    *, log: LogEntries, after_sequence: int, subject: str | None, limit: int
) -> list[LogEntry]:
    """One page of entries in log order: those numbered after `after_sequence`, which are those
    from index `after_sequence` on."""
    return [
        entry async for entry in log.entries(start=after_sequence, subject=subject, limit=limit)
    ]
