"""Documents on the real engine: sealed chunks by `_id`, the request's conditional write, and the
case's record of them."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_documents import MongoDocumentStore
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.processing.adapters.mongo_cases import MongoCaseRepository
from shared.chunks import CHUNK_BYTES
from shared.crypto import UnreadableSecret
from shared.mongo import Document, versioned
from tests.builders import T0, case, cipher
from tests.contracts.documents import (
    LARGE,
    DocumentStoreContract,
    Interrupted,
    RequestDocumentsContract,
    breaking_off,
    description,
)
from tests.documents import parts


@pytest.fixture
def store(mongo_db: AsyncDatabase[Document]) -> MongoDocumentStore:
    return MongoDocumentStore(mongo_db["documents"], mongo_db["document_chunks"], cipher())


class TestMongoDocumentStore(DocumentStoreContract):
    pass


class TestMongoRequestDocuments(RequestDocumentsContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoRequestRepository:
        return MongoRequestRepository(
            mongo_db["requests"],
            mongo_db["tracking_sequence"],
            mongo_db["open_applications"],
            cipher(),
        )


async def chunk_ids(mongo_db: AsyncDatabase[Document]) -> list[str]:
    return sorted([chunk["_id"] async for chunk in mongo_db["document_chunks"].find({})])


async def test_a_file_is_kept_in_sealed_chunks_addressed_by_id(
    store: MongoDocumentStore, mongo_db: AsyncDatabase[Document]
) -> None:
    await store.write("doc-1", parts(LARGE))
    await store.commit(description(LARGE), stored_at=T0)

    chunks = [chunk async for chunk in mongo_db["document_chunks"].find({})]
    separate = -(-len(LARGE) // CHUNK_BYTES) - 1
    assert sorted(chunk["_id"] for chunk in chunks) == sorted(f"doc-1:{n}" for n in range(separate))
    for chunk in chunks:
        assert set(chunk) == {"_id", "data"}
        assert chunk["data"].startswith("v1.")
        assert b"%PDF" not in chunk["data"].encode()
    [stored] = [item async for item in mongo_db["documents"].find({})]
    assert stored["_id"] == "doc-1"
    assert stored["size_bytes"] == len(LARGE)
    assert stored["last_chunk"].startswith("v1.")


async def test_a_file_of_less_than_a_chunk_is_one_write_and_reads_back(
    store: MongoDocumentStore, mongo_db: AsyncDatabase[Document]
) -> None:
    small = b"%PDF-1.4\n" + b"x" * 1000
    await store.write("doc-1", parts(small))
    await store.commit(description(small), stored_at=T0)

    assert await mongo_db["document_chunks"].count_documents({}) == 0
    found = await store.read("doc-1")
    assert found is not None
    assert found[1] == small


async def test_chunks_swapped_between_places_do_not_open(
    store: MongoDocumentStore, mongo_db: AsyncDatabase[Document]
) -> None:
    await store.write("doc-1", parts(LARGE))
    await store.commit(description(LARGE), stored_at=T0)
    chunks = mongo_db["document_chunks"]
    first = await chunks.find_one({"_id": "doc-1:0"})
    second = await chunks.find_one({"_id": "doc-1:1"})
    assert first is not None
    assert second is not None
    await chunks.update_one({"_id": "doc-1:0"}, {"$set": {"data": second["data"]}})

    with pytest.raises(UnreadableSecret):
        await store.read("doc-1")


async def test_an_upload_that_breaks_off_leaves_no_chunk_behind(
    store: MongoDocumentStore, mongo_db: AsyncDatabase[Document]
) -> None:
    with pytest.raises(Interrupted):
        await store.write("doc-1", breaking_off(LARGE[:300_000], LARGE[300_000:600_000]))

    assert await chunk_ids(mongo_db) == []
    assert await mongo_db["documents"].count_documents({}) == 0


async def test_discarding_removes_every_chunk(
    store: MongoDocumentStore, mongo_db: AsyncDatabase[Document]
) -> None:
    await store.write("doc-1", parts(LARGE))
    await store.commit(description(LARGE), stored_at=T0)

    await store.discard("doc-1")

    assert await chunk_ids(mongo_db) == []


async def test_a_case_keeps_its_documents_and_what_is_missing(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoCaseRepository(mongo_db["cases"], cipher())
    await repository.ensure_indexes()
    opened = case("req-1")
    opened.missing_documents = {"KK", "BUKU_NIKAH"}
    await repository.add(opened, processed_event_id="evt-1", outbox=[])
    loaded = await repository.get("req-1")
    assert loaded is not None
    assert loaded[0].missing_documents == {"KK", "BUKU_NIKAH"}
    changed, revision = loaded
    changed.note_document("KK", "doc-1", None)

    assert await repository.save(changed, revision=revision, outbox=[]) is True
    reloaded = await repository.get("req-1")
    assert reloaded is not None
    assert reloaded[0].documents == {"KK": "doc-1"}
    assert reloaded[0].missing_documents == {"BUKU_NIKAH"}


async def test_a_case_stored_before_documents_were_tracked_misses_none(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoCaseRepository(mongo_db["cases"], cipher())
    await repository.add(case("req-1"), processed_event_id="evt-1", outbox=[])
    await mongo_db["cases"].update_one(
        {"_id": "req-1"}, versioned({"$unset": {"documents": "", "missing_documents": ""}})
    )

    loaded = await repository.get("req-1")

    assert loaded is not None
    assert loaded[0].documents == {}
    assert loaded[0].documents_complete
