"""The edges audit's use cases talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from services.audit.domain.chain import AuditEntry


class AuditLogRepository(Protocol):
    async def head(self) -> AuditEntry | None:
        """The last entry, or None for an empty log."""
        ...

    async def contains(self, event_id: str) -> bool:
        """Whether the event has been logged already."""
        ...

    async def append(self, entries: Sequence[AuditEntry]) -> int:
        """Adds the entries in order in one write, stopping at the first whose sequence or event
        is taken; returns how many were added."""
        ...

    def entries(
        self, *, after_sequence: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[AuditEntry]:
        """Entries in sequence order."""
        ...
