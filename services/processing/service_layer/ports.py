"""The edges processing's handlers talk to."""

from __future__ import annotations

from typing import Protocol

from services.processing.domain.case import Case
from shared.events.envelope import CloudEvent


class CaseRepository(Protocol):
    async def add(self, case: Case, *, processed_event_id: str, outbox: list[CloudEvent]) -> bool:
        """Stores a new case, the event that caused it and its outgoing events in one write.

        False if the case exists already, so a redelivered event changes nothing.
        """
        ...

    async def get(self, request_id: str) -> Case | None:
        """Loads the case of a request."""
        ...
