"""Who must act on which letters: an official's inbox of open dispositions, and the overdue
dispositions among an office's open letters. Both read the letters the index names, never all
of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.processing.domain.case import Calendar
from services.processing.letters.domain.dispositions import Disposition, DispositionState
from services.processing.letters.domain.letter import Letter
from services.processing.letters.ports import LetterIndex, LetterRepository


@dataclass(frozen=True)
class Held:
    """A disposition in someone's inbox or the overdue view, with its letter."""

    letter: Letter
    disposition: Disposition
    notes_withheld: bool = False
    """Its disposition and follow-up notes are not to be shown."""


@dataclass(frozen=True)
class Inbox:
    unread: list[Held]
    to_follow_up: list[Held]
    due_soon: list[Held]
    overdue: list[Held]


async def inbox(
    *,
    official_id: str,
    repository: LetterRepository,
    index: LetterIndex,
    calendar: Calendar,
    due_soon_within: timedelta,
    now: datetime,
) -> Inbox:
    """The official's open dispositions: unread, read and waiting for follow-up, those due
    within `due_soon_within` of working time, and those overdue. Letters with nothing left for
    them drop off the index."""
    held: list[Held] = []
    finished: list[str] = []
    for letter_id in await index.held_by(official_id):
        loaded = await repository.get(letter_id)
        mine = [] if loaded is None else _open_for(loaded[0], official_id)
        if not mine:
            finished.append(letter_id)
        held.extend(mine)
    if finished:
        await index.forget_held(official_id, finished)
    held.sort(key=lambda item: item.disposition.due_at)
    overdue = [item for item in held if item.disposition.due_at <= now]
    pending = [item for item in held if item.disposition.due_at > now]
    return Inbox(
        unread=[item for item in held if item.disposition.state is DispositionState.SENT],
        to_follow_up=[item for item in held if item.disposition.state is not DispositionState.SENT],
        due_soon=[
            item
            for item in pending
            if calendar.working_time_between(now, item.disposition.due_at) <= due_soon_within
        ],
        overdue=overdue,
    )


async def overdue(
    *, service_point: str, repository: LetterRepository, index: LetterIndex, now: datetime
) -> list[Held]:
    """Every open disposition past its deadline among the office's open letters; answered or
    closed letters drop off the index.

    Chasing a late disposition takes its letter's agenda number, its holder and unit and its
    deadline, not what the letter or its chain says. The view is not a read of the letters, so
    a confidential letter's notes are withheld from everyone here, also from those who may read
    it: they open the letter, and that read is recorded."""
    late: list[Held] = []
    finished: list[str] = []
    for letter_id in await index.open_letters(service_point):
        loaded = await repository.get(letter_id)
        if loaded is None or not loaded[0].is_open:
            finished.append(letter_id)
            continue
        letter = loaded[0]
        late.extend(
            Held(letter, disposition, notes_withheld=letter.confidential)
            for disposition in letter.dispositions.values()
            if disposition.is_open and disposition.due_at <= now
        )
    if finished:
        await index.forget_open(service_point, finished)
    return sorted(late, key=lambda item: item.disposition.due_at)


def _open_for(letter: Letter, official_id: str) -> list[Held]:
    if not letter.is_open:
        return []
    return [
        Held(letter, disposition)
        for disposition in letter.dispositions.values()
        if disposition.to.id == official_id and disposition.is_open
    ]
