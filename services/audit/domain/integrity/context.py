"""What every rule consults besides its memory: the office's thresholds, its staff and calendar,
and the entry as the rules read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.audit.domain.entry import LogEntry
from shared.calendar import WorkingCalendar
from shared.events.envelope import ActorKind


@dataclass(frozen=True)
class Thresholds:
    """How much is too much; the office sets them (AUDIT_INTEGRITY_* settings)."""

    bulk_reads_per_day: int = 20
    send_backs_per_request: int = 3
    breaches_per_officer_month: int = 3
    valid_queue_reasons: frozenset[str] = frozenset(
        {"FUNERAL", "ELDERLY", "DISABLED", "PREGNANT", "MEDICAL", "DISASTER"}
        | {"SUPERVISOR_INSTRUCTION"}
    )
    memory_days: int = 120
    """How long a request, an officer's day or month is remembered after it was last seen."""


@dataclass(frozen=True)
class StaffIdentity:
    """An officer's own NIK and family card number, as pseudonyms under the log's key."""

    nik: str
    family_card: str | None


@dataclass(frozen=True)
class Context:
    """What every rule may consult besides its memory."""

    thresholds: Thresholds
    calendar: WorkingCalendar
    staff: Mapping[str, StaffIdentity]


@dataclass(frozen=True)
class Step:
    """One entry as the rules read it."""

    entry: LogEntry
    at: datetime
    actor_kind: str
    actor_id: str
    actor_service_point: str | None

    @property
    def index(self) -> int:
        return self.entry.index

    @property
    def data(self) -> dict[str, Any]:
        return self.entry.data

    @property
    def is_officer(self) -> bool:
        """Office staff or a village operator: someone who handles citizens' requests."""
        return self.actor_kind in (ActorKind.STAFF, ActorKind.OPERATOR)

    @classmethod
    def of(cls, entry: LogEntry) -> Step:
        actor = entry.data.get("actor") or {}
        return cls(
            entry=entry,
            at=datetime.fromisoformat(entry.event_time).astimezone(UTC),
            actor_kind=str(actor.get("kind", "")),
            actor_id=str(actor.get("id", "")),
            actor_service_point=actor.get("service_point"),
        )
