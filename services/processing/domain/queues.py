"""Work queues: one per service point, stage and lane, each a numbered line of slots.

A slot's number is taken before the slot is written, so a slot may stay empty if its writer
failed; the front of a queue steps over an empty slot only once a later slot has been there a
while, so a slot still being written is never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.processing.domain.priority import Lane
from shared.events.models.cases import CaseStage

WRITE_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class QueueKey:
    service_point: str
    stage: CaseStage
    lane: Lane

    @property
    def id(self) -> str:
        return f"{self.service_point}:{self.stage.value}:{self.lane.value}"


@dataclass(frozen=True)
class Slot:
    number: int
    request_id: str | None
    """None for a slot whose writer has not written it (yet)."""
    at: datetime | None


def passable(slots: list[Slot], now: datetime) -> bool:
    """Whether an empty slot at the front may be stepped over: a later slot was written long
    enough ago that the empty one's writer has surely failed."""
    return any(slot.at is not None and slot.at <= now - WRITE_GRACE for slot in slots)
