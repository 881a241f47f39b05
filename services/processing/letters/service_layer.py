"""Letter use cases: register a letter under the next agenda number, take the steps of its
disposition chain (only its clerk, the head of its office and its chain), read it under its
confidentiality; the inbox and overdue views are in `worklists.py`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from services.processing.domain.case import Calendar
from services.processing.domain.report import OfficeTime
from services.processing.letters.domain.agenda import register
from services.processing.letters.domain.details import IncomingLetter
from services.processing.letters.domain.dispositions import Official
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.domain.refusals import LetterForbidden
from services.processing.letters.ports import (
    LetterArchive,
    LetterRepository,
    LetterScans,
    StoredScan,
)
from services.processing.letters.report import LetterSection, letter_section
from services.processing.service_layer.cases import SOURCE
from shared.calendar import JAKARTA
from shared.clock import Clock
from shared.errors import Conflict, Kind, Refusal
from shared.events.envelope import Actor
from shared.files import FileContent, FileRule

VIEW_ATTEMPTS = 20
STEP_ATTEMPTS = 3


class LetterNotFound(Refusal):
    """No letter has this id."""

    def __init__(self, letter_id: str) -> None:
        super().__init__("not_found", "Surat tidak ditemukan.", Kind.NOT_FOUND)
        self.letter_id = letter_id


def _changed() -> Conflict:
    """Someone else changed the letter between reading and writing it, each time it was tried."""
    return Conflict(
        "changed_meanwhile", "Surat ini baru saja diubah orang lain. Muat ulang dan coba lagi."
    )


@dataclass(frozen=True)
class Staff:
    """Someone acting on letters: who, their unit, and whether they hold the role that heads an
    office (the signer's) or registers letters."""

    actor: Actor
    unit: str
    head_of_office: bool
    clerk: bool

    @property
    def official(self) -> Official:
        return Official(self.actor.id, self.unit)

    def heads(self, letter: Letter) -> bool:
        """Whether they head the letter's own office, not just some office."""
        return letter.headed_by(self.unit, signer=self.head_of_office)


async def register_letter(
    *,
    details: IncomingLetter,
    staff: Staff,
    repository: LetterRepository,
    policy: LetterPolicy,
    calendar: Calendar,
    now: datetime,
) -> Letter:
    """Registers the letter under the year's next free agenda number.

    Each attempt stores the letter under the number as its `_id` with a conditional insert, so
    a number belongs only to a letter that is stored; one taken by a concurrent registration
    sends this one to the next. The head only saves probing from the start of the year."""
    year = now.astimezone(JAKARTA).year
    number = await repository.agenda_head(year) + 1
    while True:
        letter = register(
            details,
            actor=staff.actor,
            year=year,
            agenda_number=number,
            service_point=staff.unit,
            policy=policy,
            calendar=calendar,
            now=now,
        )
        if await repository.outgoing.commit(
            letter.letter_id,
            letter.events,
            partial(repository.add, letter),
            source=SOURCE,
            time=now,
        ):
            await repository.advance_agenda(year, number)
            return letter
        number += 1


async def act(
    *,
    letter_id: str,
    step: Callable[[Letter], object],
    repository: LetterRepository,
    now: datetime,
) -> Letter:
    """Applies one step to the letter as it is, or raises LetterRefused, LetterNotFound or
    (if others kept changing it) Conflict; staff's steps come through `take`, which first
    checks who takes them."""
    return await _change(letter_id, step, STEP_ATTEMPTS, repository, now)


async def take(
    *,
    letter_id: str,
    staff: Staff,
    step: Callable[[Letter], object],
    repository: LetterRepository,
    now: datetime,
) -> Letter:
    """A step by a member of staff: refused, and the attempt recorded, unless they may act on
    the letter; the letter it answers with is read under the same rule as `view`, the read of a
    confidential letter recorded with the step."""

    def admitted(letter: Letter) -> None:
        head_of_office = staff.heads(letter)
        letter.admit(staff.actor, head_of_office=head_of_office, now=now)
        step(letter)
        letter.view(staff.actor, head_of_office=head_of_office, now=now)

    return await _change(letter_id, admitted, STEP_ATTEMPTS, repository, now)


async def admit_scan(
    *,
    letter_id: str,
    staff: Staff,
    repository: LetterRepository,
    now: datetime,
) -> Letter:
    """The letter, if the caller is its clerk, checked before a scan's bytes are taken in; an
    attempt by someone off the letter is recorded."""

    def admitted(letter: Letter) -> None:
        letter.admit_scan(staff.actor, head_of_office=staff.heads(letter), now=now)

    return await _change(letter_id, admitted, STEP_ATTEMPTS, repository, now)


async def view(
    *,
    letter_id: str,
    staff: Staff,
    repository: LetterRepository,
    now: datetime,
) -> Letter:
    """The letter, if the caller may read it; a read of a confidential letter is recorded, and
    so is a refused one, before the refusal is raised."""

    def read(letter: Letter) -> None:
        letter.view(staff.actor, head_of_office=staff.heads(letter), now=now)

    return await _change(letter_id, read, VIEW_ATTEMPTS, repository, now)


async def attach_scan(
    *,
    letter_id: str,
    staff: Staff,
    content: AsyncIterable[bytes],
    rule: FileRule,
    scans: LetterScans,
    repository: LetterRepository,
    clock: Clock,
) -> Letter:
    """Keeps a scan from the letter's clerk and points the letter at it, replacing its scan.

    Who sends it is checked before a byte is read; its type and size as the bytes arrive, each
    chunk stored sealed as it comes, so a wrong or oversized scan is refused without reading the
    rest and memory holds a chunk at a time whatever its size (which is why uploads at once need
    no bound of their own). The scan is stored under a fresh id and the letter points at it only
    once all of it is: one refused halfway, or that the letter did not take, is removed, and so
    is the scan it replaced."""
    await admit_scan(
        letter_id=letter_id,
        staff=staff,
        repository=repository,
        now=clock(),
    )
    checked = FileContent(rule)
    scan_id = str(uuid.uuid4())
    await scans.write(letter_id, scan_id, _checked(content, checked))
    media_type, size_bytes, _ = checked.finish()
    now = clock()
    replaced: str | None = None

    def attach(letter: Letter) -> None:
        nonlocal replaced
        replaced = letter.scan_id
        letter.attach_scan(staff.actor, scan_id, media_type.value, size_bytes, now)

    try:
        await scans.commit(letter_id, scan_id, media_type=media_type.value, size_bytes=size_bytes)
        letter = await take(
            letter_id=letter_id,
            staff=staff,
            step=attach,
            repository=repository,
            now=now,
        )
    except BaseException:
        await scans.discard(letter_id, scan_id)
        raise
    if replaced is not None:
        await scans.discard(letter_id, replaced)
    return letter


async def read_scan(
    *,
    letter_id: str,
    staff: Staff,
    scans: LetterScans,
    repository: LetterRepository,
    now: datetime,
) -> StoredScan | None:
    """The letter's scan, under the same rules (and records) as reading the letter; None if it
    has none."""
    letter = await view(
        letter_id=letter_id,
        staff=staff,
        repository=repository,
        now=now,
    )
    if letter.scan_id is None:
        return None
    return await scans.read(letter_id, letter.scan_id)


async def _checked(content: AsyncIterable[bytes], check: FileContent) -> AsyncIterator[bytes]:
    """The content's bytes, refused (by raising) as soon as they show a wrong type or size."""
    async for part in content:
        if part:
            check.feed(part)
            yield part
    check.finish()


async def _change(
    letter_id: str,
    change: Callable[[Letter], object],
    attempts: int,
    repository: LetterRepository,
    now: datetime,
) -> Letter:
    """Applies the change and stores its events; a refusal that recorded its attempt is stored
    before it is raised. A letter changed between reading and saving it (another official's
    step, a reminder fired) is read again and the change judged anew on what it is now."""
    for _ in range(attempts):
        letter, revision = await _load(letter_id, repository)
        try:
            change(letter)
        except LetterForbidden:
            if not letter.events or await _save(letter, revision, repository, now):
                raise
            continue
        if not letter.events or await _save(letter, revision, repository, now):
            return letter
    raise _changed()


async def _load(letter_id: str, repository: LetterRepository) -> tuple[Letter, int]:
    loaded = await repository.get(letter_id)
    if loaded is None:
        raise LetterNotFound(letter_id)
    return loaded


async def _save(
    letter: Letter,
    revision: int,
    repository: LetterRepository,
    now: datetime,
) -> bool:
    return await repository.outgoing.commit(
        letter.letter_id,
        letter.events,
        partial(repository.save, letter, revision=revision),
        source=SOURCE,
        time=now,
    )


async def letters_report(
    *, month: str, archive: LetterArchive, calendar: OfficeTime, now: datetime
) -> LetterSection:
    """The month's letters section; overdue counted at the month's end, or now for the current
    month. Letters of the year before count too: they may be answered or overdue this month."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=JAKARTA)
    following = (start + timedelta(days=32)).replace(day=1)
    as_of = min(now, following - timedelta(microseconds=1))
    letters = await archive.received_in([start.year - 1, start.year])
    return letter_section(letters, month=month, as_of=as_of, calendar=calendar)
