"""Registering a letter under its number in the year's agenda, with its reply deadline."""

from __future__ import annotations

from datetime import UTC, datetime, time

from services.processing.domain.case import Calendar
from services.processing.letters.domain.details import IncomingLetter
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.domain.refusals import LetterRefused
from shared.calendar import JAKARTA
from shared.events.envelope import Actor


def register(
    details: IncomingLetter,
    *,
    actor: Actor,
    year: int,
    agenda_number: int,
    service_point: str,
    policy: LetterPolicy,
    calendar: Calendar,
    now: datetime,
) -> Letter:
    """The registered letter, due by the end of its own reply date in the office's time, or by
    its urgency's default in working days."""
    if details.reply_due is not None:
        due_at = datetime.combine(details.reply_due, time(23, 59, 59), tzinfo=JAKARTA)
        due_at = due_at.astimezone(UTC)
        if due_at <= now:
            raise LetterRefused("deadline_passed", "Batas balasan surat sudah lewat.")
    else:
        due_at = calendar.due_at(now, policy.reply_days[details.urgency])
    return Letter.registered(
        details,
        actor=actor,
        year=year,
        agenda_number=agenda_number,
        service_point=service_point,
        due_at=due_at,
        now=now,
    )
