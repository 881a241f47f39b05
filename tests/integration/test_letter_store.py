"""Letters on the real engine: agenda numbers from concurrent registrations in two processing
instances, and a letter's chain and sealed texts read back as stored."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.adapters.mongo_letters import (
    MongoLetterIndex,
    MongoLetterRepository,
    MongoLetterScans,
)
from services.processing.domain.letters import (
    Confidentiality,
    DispositionState,
    IncomingLetter,
    Letter,
    LetterPolicy,
    Official,
    Urgency,
)
from services.processing.service_layer import letters
from services.processing.service_layer.letters import Staff
from shared.events.envelope import Actor, ActorKind, Channel
from shared.mongo import Document, new_mongo_client
from tests.builders import T0, cipher
from tests.fakes import CallCounter, FlatCalendar

POLICY = LetterPolicy(
    reply_days={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1},
    instructions={"TINDAK_LANJUTI": "Tindak lanjuti"},
)
DETAILS = IncomingLetter(
    sender="Bank Jatim Cabang Mojokerto",
    reference_number="045/BJTM/III/2025",
    letter_date=date(2025, 3, 1),
    regarding="Verifikasi data a.n. Siti Aminah",
    classification="470",
    urgency=Urgency.BIASA,
    confidentiality=Confidentiality.RAHASIA,
)


def staff(ident: str, *, head: bool = False) -> Staff:
    return Staff(
        actor=Actor(kind=ActorKind.STAFF, id=ident, channel=Channel.API),
        unit="KANTOR_DINAS",
        head_of_office=head,
        clerk=not head,
    )


def repository(db: AsyncDatabase[Document]) -> MongoLetterRepository:
    return MongoLetterRepository(db["letters"], db["agenda_heads"], cipher())


async def register(store: MongoLetterRepository, clerk: str) -> str:
    letter = await letters.register_letter(
        details=DETAILS,
        staff=staff(clerk),
        repository=store,
        policy=POLICY,
        calendar=FlatCalendar(),
        outbox_ready=CallCounter(),
        now=T0,
    )
    return letter.letter_id


async def test_thirty_concurrent_registrations_in_two_instances_get_exactly_one_to_thirty(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> None:
    other_client = new_mongo_client(stack.mongo_url)
    try:
        stores = [repository(mongo_db), repository(other_client[mongo_db.name])]
        ids = await asyncio.gather(
            *(register(stores[number % 2], f"clerk-{number}") for number in range(30))
        )
    finally:
        await other_client.close()

    assert sorted(ids) == [f"2025-{number:05d}" for number in range(1, 31)]
    stored = [document["_id"] async for document in mongo_db["letters"].find({}, {"_id": 1})]
    assert sorted(stored) == sorted(ids)
    assert await stores[0].agenda_head(2025) == 30
    archived = await stores[0].received_in([2024, 2025])
    assert sorted(letter.letter_id for letter in archived) == sorted(ids)
    assert await stores[0].received_in([2026]) == []


async def test_a_letter_its_chain_and_its_scan_read_back_as_stored_with_texts_sealed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = repository(mongo_db)
    letter_id = await register(store, "clerk-1")
    head = staff("kadis", head=True)

    def dispose(letter: Letter) -> None:
        letter.dispose(
            head.actor,
            by=head.official,
            to=[Official("kabid", "KANTOR_DINAS")],
            instruction="TINDAK_LANJUTI",
            note="Hubungi Siti Aminah",
            due_at=T0 + timedelta(days=3),
            parent_id=None,
            policy=POLICY,
            head_of_office=True,
            now=T0,
        )

    await letters.act(
        letter_id=letter_id, step=dispose, repository=store, outbox_ready=CallCounter(), now=T0
    )
    scans = MongoLetterScans(mongo_db["letter_scans"], cipher())
    await scans.put(letter_id, b"%PDF-1.7 scan", "application/pdf")

    loaded = await store.get(letter_id)
    assert loaded is not None
    letter, revision = loaded
    assert revision == 1
    assert letter.details == DETAILS
    [disposition] = letter.dispositions.values()
    assert (disposition.to.id, disposition.note, disposition.state) == (
        "kabid",
        "Hubungi Siti Aminah",
        DispositionState.SENT,
    )
    assert disposition.due_at == T0 + timedelta(days=3)
    assert await scans.get(letter_id) == (b"%PDF-1.7 scan", "application/pdf")
    raw = await mongo_db["letters"].find_one({"_id": letter_id})
    scan = await mongo_db["letter_scans"].find_one({"_id": letter_id})
    assert "Siti Aminah" not in str(raw)
    assert scan is not None
    assert "PDF-1.7" not in scan["content"]


async def test_a_stale_revision_loses_and_the_index_keeps_sets_by_id(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store = repository(mongo_db)
    letter_id = await register(store, "clerk-1")
    loaded = await store.get(letter_id)
    assert loaded is not None
    letter, revision = loaded
    assert await store.save(letter, revision=revision, outbox=[])
    assert not await store.save(letter, revision=revision, outbox=[])

    index = MongoLetterIndex(mongo_db["letter_index"])
    await index.note_holder("kabid", letter_id)
    await index.note_holder("kabid", letter_id)
    await index.note_holder("kabid", "2025-00099")
    await index.forget_held("kabid", ["2025-00099"])
    assert await index.held_by("kabid") == [letter_id]
    assert await index.held_by("nobody") == []
