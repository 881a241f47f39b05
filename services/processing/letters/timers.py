"""A disposition's timers: set when it is given, and what their firing records on its letter
(the reminders before the deadline and after a working day unread, the escalation at the
deadline). They share the case timers' store and sweep (`service_layer/deadlines.py`), and the
letter records each one it fired, so none fires twice."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.processing.domain.case import Calendar
from services.processing.domain.deadlines import Timer
from services.processing.letters.domain.dispositions import disposition_timers
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.ports import LetterRepository
from services.processing.service_layer.cases import SOURCE
from services.processing.service_layer.ports import DeadlineTimers
from services.processing.service_layer.scheduling import ATTEMPTS, kept_or_due


async def set_disposition_timers(
    *,
    letter: Letter,
    disposition_id: str,
    timers: DeadlineTimers,
    letters: LetterRepository,
    calendar: Calendar,
    policy: LetterPolicy,
    now: datetime,
) -> None:
    """Sets the reminders and the escalation of a disposition (the letter as it is now); those
    due already fire at once."""
    disposition = letter.dispositions.get(disposition_id)
    if disposition is None or not disposition.is_open:
        return
    planned = disposition_timers(letter.letter_id, disposition, calendar, policy)
    for timer in await kept_or_due(planned, timers, now):
        await fire_on_letter(timer, letters, max(now, timer.fire_at))


async def fire_on_letter(timer: Timer, letters: LetterRepository, now: datetime) -> int:
    """Records the timer's reminder or escalation on its letter, once; 1 if it was recorded
    now."""
    for _ in range(ATTEMPTS):
        loaded = await letters.get(timer.request_id)
        if loaded is None:
            return 0
        letter, revision = loaded
        if not letter.mark_deadline(timer, now=now):
            return 0
        if await letters.outgoing.commit(
            letter.letter_id,
            letter.events,
            partial(letters.save, letter, revision=revision),
            source=SOURCE,
            time=now,
        ):
            return 1
    raise RuntimeError(f"letter {timer.request_id} kept changing while its timer fired")
