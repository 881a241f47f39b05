"""The edges processing's use cases talk to; Mongo adapters (and `KnownCases`, the cache of cases
in front of them) and test fakes implement them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.processing.domain.case import Case
from services.processing.domain.deadlines import Timer
from services.processing.domain.queues import QueueKey, Slot
from services.processing.domain.report_counting import Trail
from shared.events.envelope import CloudEvent
from shared.events.models.cases import CaseEvent
from shared.outbox import Outbox


class CaseRepository(Protocol):
    outgoing: Outbox

    async def add(self, case: Case, *, processed_event_id: str, outbox: list[CloudEvent]) -> bool:
        """Stores a new case, the event that caused it and its outgoing events in one write.

        False if the case exists already, so a redelivered event changes nothing.
        """
        ...

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        """The case of a request, and the revision it was read at."""
        ...

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        """Stores the case's changes and events, if it is still at `revision`."""
        ...

    async def note_document(
        self, request_id: str, requirement: str, document_id: str, replaces: str | None
    ) -> bool | None:
        """Notes a document intake received, as `Case.note_document` would, in one write that
        reads nothing first: True if noted, False if that changes nothing, None if no case."""
        ...


class WorkQueues(Protocol):
    async def enqueue(self, key: QueueKey, request_id: str, at: datetime) -> None:
        """Puts the case at the end of the queue; returns once that is stored."""
        ...

    async def waiting(self, key: QueueKey, limit: int) -> list[Slot]:
        """Up to `limit` slots from the front of the queue, oldest first."""
        ...

    async def advance(self, key: QueueKey, past: int) -> None:
        """Forgets the slots up to and including `past`."""
        ...


class DeadlineTimers(Protocol):
    async def schedule(self, timer: Timer) -> bool:
        """Keeps the timer until its minute is fired; False if that minute was fired already,
        so the caller fires the timer itself."""
        ...

    async def close(self, minute: datetime) -> list[Timer]:
        """Closes the minute starting at `minute` to new timers; returns those it holds."""
        ...

    async def fired_until(self, start: datetime) -> datetime:
        """The last minute whose timers were fired; `start`'s minute when none was yet."""
        ...

    async def advance(self, past: datetime, to: datetime) -> None:
        """Moves the cursor from `past` to `to`, unless it was moved meanwhile."""
        ...


class AtRisk(Protocol):
    async def note(
        self, service_point: str, request_id: str, due_at: datetime, percent: int
    ) -> None:
        """Lists the case as at risk, with the share of its time that passed."""
        ...

    async def listed(self, service_point: str) -> dict[str, tuple[datetime, int]]:
        """The cases listed at risk: their deadline and share of time passed, by request id."""
        ...

    async def forget(self, service_point: str, request_ids: Iterable[str]) -> None:
        """Takes cases off the list."""
        ...


@dataclass(frozen=True)
class Counted:
    """The increments one event adds to its month's counters."""

    event_id: str
    month: str
    increments: dict[str, int]


class ReportStore(Protocol):
    """The monthly report's counters, each event counted once."""

    async def count(self, counted: Counted) -> None:
        """Adds the increments to the month's counters unless this event's were added already;
        returns once that is stored."""
        ...

    async def counters(self, months: list[str]) -> dict[str, list[dict[str, object]]]:
        """The counter documents (rows only) of each month asked for."""
        ...

    async def backlog(self, first: str, last: str) -> list[dict[str, object]]:
        """The backlog parts of the counter documents of months `first` to `last`."""
        ...


class Trails(Protocol):
    """The steps of the cases the report follows (`KnownCases`)."""

    async def trail(self, event: CaseEvent) -> Trail | None:
        """The trail of the event's case, holding the event; None if the case keeps none."""
        ...
