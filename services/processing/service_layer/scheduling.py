"""Setting timers, for a case's deadline and a letter's disposition alike: those still to come
are stored for the sweep, those due already (or refused by the store, whose minute was walked
past meanwhile) are fired at once by the caller."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.processing.domain.deadlines import Timer
from services.processing.service_layer.ports import DeadlineTimers

ATTEMPTS = 20
"""How often a firing timer reads its case or letter again when it was changed meanwhile."""


async def kept_or_due(planned: list[Timer], timers: DeadlineTimers, now: datetime) -> list[Timer]:
    """Keeps the timers still to come; returns those to fire now, in order."""
    later = [timer for timer in planned if timer.fire_at > now]
    kept = await asyncio.gather(*(timers.schedule(timer) for timer in later))
    refused = {timer for timer, stored in zip(later, kept, strict=True) if not stored}
    return [timer for timer in planned if timer.fire_at <= now or timer in refused]
