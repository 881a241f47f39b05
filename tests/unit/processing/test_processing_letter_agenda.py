"""Agenda numbers: in order within the year, none twice, none skipped, however many clerks
register at once and however far the year's head lags behind; and a step on a letter changed
meanwhile loses."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

import pytest

from services.processing.letters import service_layer as letters
from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from services.processing.letters.service_layer import Staff
from shared.errors import Conflict
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.letters import LetterRegistered
from tests.builders import T0
from tests.fakes import FlatCalendar
from tests.fakes_letters import FakeLetterRepository

POLICY = LetterPolicy(
    reply_days={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1},
    instructions={"TINDAK_LANJUTI": "Tindak lanjuti"},
)
CLERK = Staff(
    actor=Actor(kind=ActorKind.STAFF, id="clerk-1", channel=Channel.API),
    unit="KANTOR_DINAS",
    head_of_office=False,
    clerk=True,
)
DETAILS = IncomingLetter(
    sender="Polres Mojokerto",
    reference_number="B/12/III/2025",
    letter_date=date(2025, 3, 1),
    regarding="Permintaan data",
    classification="470",
    urgency=Urgency.SEGERA,
    confidentiality=Confidentiality.BIASA,
)


async def registered(repository: FakeLetterRepository, now: datetime = T0) -> str:
    letter = await letters.register_letter(
        details=DETAILS,
        staff=CLERK,
        repository=repository,
        policy=POLICY,
        calendar=FlatCalendar(),
        now=now,
    )
    return letter.letter_id


async def test_concurrent_registrations_get_consecutive_numbers() -> None:
    repository = FakeLetterRepository()

    ids = await asyncio.gather(*(registered(repository) for _ in range(25)))

    assert sorted(ids) == [f"2025-{number:05d}" for number in range(1, 26)]
    assert repository.heads[2025] == 25
    numbers = [
        event.data["agenda_number"]
        for event in repository.outbox
        if event.type == LetterRegistered.event_type
    ]
    assert sorted(numbers) == list(range(1, 26))


async def test_a_lagging_head_is_probed_past_and_never_moved_back() -> None:
    repository = FakeLetterRepository()
    for _ in range(3):
        await registered(repository)
    repository.heads[2025] = 1

    assert await registered(repository) == "2025-00004"
    await repository.advance_agenda(2025, 2)
    assert repository.heads[2025] == 4


async def test_the_numbering_starts_again_each_year_in_jakarta_time() -> None:
    repository = FakeLetterRepository()
    await registered(repository)
    new_year_in_jakarta = datetime.fromisoformat("2025-12-31T17:30:00+00:00")

    assert await registered(repository, new_year_in_jakarta) == "2026-00001"
    assert await registered(repository, new_year_in_jakarta + timedelta(minutes=1)) == (
        "2026-00002"
    )


async def test_a_step_on_a_letter_changed_meanwhile_loses_and_stores_nothing() -> None:
    repository = FakeLetterRepository()
    letter_id = await registered(repository)

    def changed_by_someone_else(letter: Letter) -> None:
        stored, revision = repository.letters[letter_id]
        repository.letters[letter_id] = (stored, revision + 1)
        letter.close(CLERK.actor, "tidak perlu", head_of_office=True, now=T0)

    with pytest.raises(Conflict, match="Surat ini baru saja diubah"):
        await letters.act(
            letter_id=letter_id,
            step=changed_by_someone_else,
            repository=repository,
            now=T0,
        )
    stored = await repository.get(letter_id)
    assert stored is not None
    assert stored[0].is_open


async def test_a_step_that_lost_once_to_another_change_is_judged_again_and_taken() -> None:
    repository = FakeLetterRepository()
    letter_id = await registered(repository)
    tries = 0

    def overtaken_once(letter: Letter) -> None:
        nonlocal tries
        tries += 1
        if tries == 1:
            stored, revision = repository.letters[letter_id]
            repository.letters[letter_id] = (stored, revision + 1)
        letter.close(CLERK.actor, "tidak perlu", head_of_office=True, now=T0)

    closed = await letters.act(
        letter_id=letter_id,
        step=overtaken_once,
        repository=repository,
        now=T0,
    )

    assert tries == 2
    stored = await repository.get(letter_id)
    assert stored is not None
    assert not stored[0].is_open
    assert not closed.is_open
