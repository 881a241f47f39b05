"""Use cases of deadline timers: set them when a case's deadline is set, fire them when due.

Firing is safe to run in every processing instance at once and after any outage: timers are
walked minute by minute from a shared cursor, and a case records each timer it fired, so each
warning and breach is recorded once.
"""

from __future__ import annotations

from datetime import datetime

from services.processing.domain import deadlines
from services.processing.domain.case import Case
from services.processing.domain.deadlines import MINUTE, Fractions, Timer, minute_of
from services.processing.service_layer.cases import SOURCE
from services.processing.service_layer.ports import CaseRepository, DeadlineTimers
from shared.events.envelope import CloudEvent
from shared.polling import OutboxReady

ATTEMPTS = 20


async def set_deadline_timers(
    *,
    case: Case,
    repository: CaseRepository,
    timers: DeadlineTimers,
    calendar: Fractions,
    outbox_ready: OutboxReady,
    now: datetime,
) -> None:
    """Sets the timers of the case's current deadline (the case as it is now); those due
    already fire at once, since the minutes they fall in may have been walked past."""
    if case.stage is None:
        return
    for timer in deadlines.timers(case.request_id, case.opened_at, case.due_at, calendar):
        await timers.schedule(timer)
        if timer.fire_at <= now:
            await fire(timer, repository=repository, outbox_ready=outbox_ready, now=now)


async def fire_due(
    *,
    timers: DeadlineTimers,
    repository: CaseRepository,
    outbox_ready: OutboxReady,
    now: datetime,
) -> int:
    """Fires the timers of every whole minute since the cursor; returns how many fired."""
    fired = 0
    minute = await timers.fired_until(now - MINUTE)
    last = minute_of(now) - MINUTE
    while minute < last:
        following = minute + MINUTE
        for timer in await timers.in_minute(following):
            fired += await fire(timer, repository=repository, outbox_ready=outbox_ready, now=now)
        await timers.advance(minute, following)
        minute = following
    return fired


async def fire(
    timer: Timer, *, repository: CaseRepository, outbox_ready: OutboxReady, now: datetime
) -> int:
    """Records the timer's warning or breach on its case, once; 1 if it was recorded now."""
    for _ in range(ATTEMPTS):
        loaded = await repository.get(timer.request_id)
        if loaded is None:
            return 0
        case, revision = loaded
        if not case.mark_deadline(timer, now=now):
            return 0
        outbox = [CloudEvent.wrap(event, source=SOURCE, time=now) for event in case.events]
        if await repository.save(case, revision=revision, outbox=outbox):
            outbox_ready(case.request_id, outbox)
            return 1
    raise RuntimeError(f"case {timer.request_id} kept changing while its timer fired")
