"""Letters on the real engine: agenda numbers from concurrent registrations in two processing
instances, a letter's chain and sealed texts read back as stored, and its scan kept in sealed
chunks, streamed both ways."""

from __future__ import annotations

import asyncio
import hashlib
import random
import tracemalloc
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.letters import service_layer as letters
from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.dispositions import (
    DispositionOrder,
    DispositionState,
    Official,
)
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from services.processing.letters.mongo import (
    MongoLetterIndex,
    MongoLetterRepository,
    MongoLetterScans,
)
from services.processing.letters.service_layer import Staff
from shared.chunks import CHUNK_BYTES
from shared.events.envelope import Actor, ActorKind, Channel
from shared.files import Accepted, MediaType, TooLarge
from shared.mongo import Document, new_mongo_client
from tests.builders import T0, cipher
from tests.contracts.letter_scans import LARGE_SCAN, LETTER_ID, LetterScansContract, content_of
from tests.documents import PDF, parts
from tests.fakes import FlatCalendar

PART_BYTES = 64 * 1024
"""What an HTTP body arrives in at a time, about."""
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


def letter_scans(db: AsyncDatabase[Document]) -> MongoLetterScans:
    return MongoLetterScans(db["letter_scans"], db["letter_scan_chunks"], cipher())


async def register(store: MongoLetterRepository, clerk: str) -> str:
    letter = await letters.register_letter(
        details=DETAILS,
        staff=staff(clerk),
        repository=store,
        policy=POLICY,
        calendar=FlatCalendar(),
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
            DispositionOrder(
                by=head.official,
                to=[Official("kabid", "KANTOR_DINAS")],
                instruction="TINDAK_LANJUTI",
                note="Hubungi Siti Aminah",
                due_at=T0 + timedelta(days=3),
                parent_id=None,
            ),
            policy=POLICY,
            head_of_office=True,
            now=T0,
        )

    await letters.act(letter_id=letter_id, step=dispose, repository=store, now=T0)
    scans = letter_scans(mongo_db)
    await scans.write(letter_id, "scan-1", parts(b"%PDF-1.7 scan"))
    await scans.commit(letter_id, "scan-1", media_type="application/pdf", size_bytes=13)

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
    scan = await content_of(await scans.read(letter_id, "scan-1"))
    assert scan == (b"%PDF-1.7 scan", "application/pdf", 13)
    raw = await mongo_db["letters"].find_one({"_id": letter_id})
    description = await mongo_db["letter_scans"].find_one({"_id": "scan-1"})
    assert "Siti Aminah" not in str(raw)
    assert description is not None
    assert "PDF-1.7" not in str(description)


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


class TestMongoLetterScans(LetterScansContract):
    @pytest.fixture
    def scans(self, mongo_db: AsyncDatabase[Document]) -> MongoLetterScans:
        return letter_scans(mongo_db)


async def generated(size: int, digest: hashlib._Hash) -> AsyncIterator[bytes]:
    """`size` bytes of a PDF in the parts an HTTP body arrives in, never held whole."""
    source = random.Random(7)
    yield b"%PDF-1.7\n"
    digest.update(b"%PDF-1.7\n")
    sent = 9
    while sent < size:
        part = source.randbytes(min(PART_BYTES, size - sent))
        digest.update(part)
        sent += len(part)
        yield part


async def test_a_scan_larger_than_one_document_may_be_is_kept_in_sealed_chunks_and_streamed_back(
    mongo_db: AsyncDatabase[Document],
) -> None:
    scans = letter_scans(mongo_db)
    size = 17 * 1024 * 1024
    sent, received = hashlib.sha256(), hashlib.sha256()
    tracemalloc.start()
    try:
        await scans.write(LETTER_ID, "scan-1", generated(size, sent))
        await scans.commit(LETTER_ID, "scan-1", media_type="application/pdf", size_bytes=size)
        found = await scans.read(LETTER_ID, "scan-1")
        assert found is not None
        read = 0
        async for part in found.content:
            received.update(part)
            read += len(part)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (read, found.size_bytes) == (size, size)
    assert received.digest() == sent.digest()
    assert peak < 6 * 1024 * 1024, f"{peak} bytes held at once, for a scan of {size}"
    chunks = [chunk async for chunk in mongo_db["letter_scan_chunks"].find({})]
    separate = -(-size // CHUNK_BYTES) - 1
    assert sorted(chunk["_id"] for chunk in chunks) == sorted(
        f"scan-1:{n}" for n in range(separate)
    )
    for chunk in chunks:
        number = int(chunk["_id"].split(":")[1])
        context = f"letters/{LETTER_ID}/scan/scan-1/chunks/{number}"
        assert len(cipher().open(chunk["data"], context=context)) == CHUNK_BYTES
    description = await mongo_db["letter_scans"].find_one({"_id": "scan-1"})
    assert description is not None
    assert (description["size_bytes"], description["chunks"]) == (size, separate)
    assert "content" not in description
    assert description["last_chunk"].startswith("v1.")


async def attach(
    store: MongoLetterRepository,
    scans: MongoLetterScans,
    letter_id: str,
    content: bytes,
    *,
    max_bytes: int = 1024 * 1024,
) -> Letter:
    return await letters.attach_scan(
        letter_id=letter_id,
        staff=staff("clerk-1"),
        content=parts(content[:100_000], content[100_000:400_000], content[400_000:]),
        rule=Accepted(name="pindaian surat", media_types=(MediaType.PDF,), max_bytes=max_bytes),
        scans=scans,
        repository=store,
        clock=lambda: T0,
    )


async def stored_ids(mongo_db: AsyncDatabase[Document]) -> tuple[list[str], list[str]]:
    descriptions = [item["_id"] async for item in mongo_db["letter_scans"].find({})]
    chunks = [item["_id"] async for item in mongo_db["letter_scan_chunks"].find({})]
    return sorted(descriptions), sorted(chunks)


async def test_a_scan_over_the_limit_leaves_no_chunk_behind_and_the_letter_as_it_was(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store, scans = repository(mongo_db), letter_scans(mongo_db)
    letter_id = await register(store, "clerk-1")

    with pytest.raises(TooLarge):
        await attach(store, scans, letter_id, LARGE_SCAN, max_bytes=600_000)

    assert await stored_ids(mongo_db) == ([], [])
    loaded = await store.get(letter_id)
    assert loaded is not None
    assert loaded[0].scan_id is None


async def test_a_new_scan_replaces_the_old_one_which_is_removed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store, scans = repository(mongo_db), letter_scans(mongo_db)
    letter_id = await register(store, "clerk-1")

    first = await attach(store, scans, letter_id, LARGE_SCAN)
    second = await attach(store, scans, letter_id, PDF)

    assert second.scan_id is not None
    assert await stored_ids(mongo_db) == ([second.scan_id], [])
    found = await letters.read_scan(
        letter_id=letter_id,
        staff=staff("clerk-1"),
        scans=scans,
        repository=store,
        now=T0,
    )
    assert await content_of(found) == (PDF, "application/pdf", len(PDF))
    assert first.scan_id != second.scan_id


async def test_a_scan_stored_whole_before_chunks_still_reads_and_goes_when_replaced(
    mongo_db: AsyncDatabase[Document],
) -> None:
    store, scans = repository(mongo_db), letter_scans(mongo_db)
    letter_id = await register(store, "clerk-1")
    await mongo_db["letter_scans"].insert_one(
        {
            "_id": letter_id,
            "scan_id": "old-scan",
            "media_type": "application/pdf",
            "content": cipher().seal(PDF, context=f"letters/{letter_id}/scan/old-scan"),
        }
    )
    await letters.act(
        letter_id=letter_id,
        step=lambda letter: letter.attach_scan(
            staff("clerk-1").actor, "old-scan", "application/pdf", len(PDF), T0
        ),
        repository=store,
        now=T0,
    )

    old = await content_of(await scans.read(letter_id, "old-scan"))
    replaced = await attach(store, scans, letter_id, b"%PDF-1.7 baru")

    assert old == (PDF, "application/pdf", len(PDF))
    assert await stored_ids(mongo_db) == ([replaced.scan_id], [])
