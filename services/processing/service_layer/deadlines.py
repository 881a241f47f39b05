"""Use cases of deadline timers: set them when a case's deadline is set, fire them when due.

Firing is safe to run in every processing instance at once and after any outage: timers are
walked minute by minute from a shared cursor, and a case records each timer it fired, so each
warning and breach is recorded once. The timers of letters' dispositions go the same way, and
their letter records them (`letters/timers.py`).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.processing.domain import deadlines
from services.processing.domain.deadlines import MINUTE, Fractions, Timer, minute_of
from services.processing.letters.ports import LetterRepository
from services.processing.letters.timers import fire_on_letter
from services.processing.service_layer.cases import SOURCE
from services.processing.service_layer.ports import CaseRepository, DeadlineTimers
from services.processing.service_layer.scheduling import ATTEMPTS, kept_or_due


async def set_deadline_timers(
    *,
    request_id: str,
    start: datetime,
    due_at: datetime,
    repository: CaseRepository,
    timers: DeadlineTimers,
    calendar: Fractions,
    now: datetime,
) -> None:
    """Sets the timers of a case's deadline, which ran from `start`. Those due already, or
    whose minute was walked past while they were being set, fire at once; a timer for a
    deadline the case no longer has fires nothing."""
    planned = deadlines.timers(request_id, start, due_at, calendar)
    for timer in await kept_or_due(planned, timers, now):
        await _fire_for_case(timer, repository, max(now, timer.fire_at))


async def fire_due(
    *,
    timers: DeadlineTimers,
    repository: CaseRepository,
    letters: LetterRepository,
    now: datetime,
) -> int:
    """Fires the timers of every whole minute since the cursor; returns how many fired."""
    fired = 0
    minute = await timers.fired_until(now - MINUTE)
    last = minute_of(now) - MINUTE
    while minute < last:
        following = minute + MINUTE
        for timer in await timers.close(following):
            fired += await fire(timer, repository=repository, letters=letters, now=now)
        await timers.advance(minute, following)
        minute = following
    return fired


async def fire(
    timer: Timer,
    *,
    repository: CaseRepository,
    letters: LetterRepository,
    now: datetime,
) -> int:
    """Records the timer's warning or breach on its case (or its reminder or escalation on its
    letter), once; 1 if it was recorded now."""
    if timer.disposition_id is not None:
        return await fire_on_letter(timer, letters, now)
    return await _fire_for_case(timer, repository, now)


async def _fire_for_case(timer: Timer, repository: CaseRepository, now: datetime) -> int:
    for _ in range(ATTEMPTS):
        loaded = await repository.get(timer.request_id)
        if loaded is None:
            return 0
        case, revision = loaded
        if not case.mark_deadline(timer, now=now):
            return 0
        if await repository.outgoing.commit(
            case.request_id,
            case.events,
            partial(repository.save, case, revision=revision),
            source=SOURCE,
            time=now,
        ):
            return 1
    raise RuntimeError(f"case {timer.request_id} kept changing while its timer fired")
