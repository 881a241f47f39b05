"""Attaching a document to a request: stored only if it is right, recorded with its events once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator

import pytest

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from services.intake.domain.documents import NotAttachable, StoredDocument
from services.intake.service_layer.documents import Attachment, attach_document, read_document
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.requests import DocumentAttached, DocumentViewed, RequestCompleted
from shared.file_contents import Unreadable
from shared.files import TooLarge, UnsupportedType
from tests.builders import CITIZEN, T0
from tests.documents import (
    CATALOGUE,
    JPEG,
    PDF,
    PNG,
    PROGRAM_AS_PDF,
    TEXT,
    parts,
    waiting_request,
)
from tests.fakes import CallCounter, FakeClock, FakeDocumentStore, FakeRequestRepository

REQUEST_ID = "0b5d6a1e-0000-4000-8000-000000000001"


class Intake:
    def __init__(self) -> None:
        self.repository = FakeRequestRepository()
        self.store = FakeDocumentStore()
        self.outbox_ready = CallCounter()
        self.repository.outgoing.register(self.outbox_ready)

    async def holds(self, request: CitizenRequest) -> CitizenRequest:
        await self.repository.add(request, [])
        loaded = await self.repository.get(request.request_id)
        assert loaded is not None
        return loaded

    async def attach(
        self,
        request: CitizenRequest,
        requirement: str,
        content: bytes | AsyncIterator[bytes],
        declared_bytes: int | None = None,
    ) -> Attachment:
        return await attach_document(
            request=request,
            requirement=requirement,
            content=content,
            actor=CITIZEN,
            repository=self.repository,
            store=self.store,
            catalogue=CATALOGUE,
            clock=FakeClock(T0),
            declared_bytes=declared_bytes,
        )

    async def read(
        self, request: CitizenRequest, document_id: str, reader: Actor | None = None
    ) -> tuple[StoredDocument, bytes] | None:
        return await read_document(
            request=request,
            document_id=document_id,
            store=self.store,
            recorded_reader=reader,
            repository=self.repository,
            now=T0,
        )

    def published(self) -> list[str]:
        return [event.type for event in self.repository.outbox]


class Counted:
    """A body that counts how much of it was read."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.read += 1
            yield chunk
            await asyncio.sleep(0)


@pytest.fixture
def intake() -> Intake:
    return Intake()


async def test_a_file_handed_over_whole_is_stored_and_recorded_with_its_event(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))

    attachment = await intake.attach(request, "KK", PDF)

    document = attachment.document
    assert attachment.replaces is None
    assert attachment.request.missing_documents == ["SURAT"]
    assert await intake.store.read(document.document_id) == (document, PDF)
    stored = intake.repository.requests[REQUEST_ID]
    assert stored.documents == {"KK": document.document_id}
    assert intake.published() == [DocumentAttached.event_type]
    assert intake.outbox_ready.keys == [REQUEST_ID]
    assert intake.outbox_ready.events == intake.repository.outbox


async def test_the_last_mandatory_document_arriving_in_parts_completes_the_request(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID, documents={"KK": "doc-0"}))

    attachment = await intake.attach(request, "SURAT", parts(PDF[:4], PDF[4:9], PDF[9:]))

    assert attachment.request.missing_documents == []
    assert intake.published() == [DocumentAttached.event_type, RequestCompleted.event_type]
    completed = intake.repository.outbox[-1].data
    assert completed["documents"] == {"KK": "doc-0", "SURAT": attachment.document.document_id}


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (Counted(TEXT[:5], TEXT[5:], b"more" * 100), UnsupportedType),
        (Counted(PNG[:5], PNG[5:], b"more" * 100), UnsupportedType),
        (Counted(PDF, b"\x00" * 599_000, b"\x00" * 10_000, b"never read"), TooLarge),
    ],
    ids=["text named pdf", "png for a pdf-only document", "over the size"],
)
async def test_a_wrong_file_is_refused_as_soon_as_it_shows_and_nothing_is_kept(
    intake: Intake, content: Counted, refusal: type[Exception]
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))

    with pytest.raises(refusal):
        await intake.attach(request, "SURAT", aiter(content))

    assert content.read == len(content.chunks) - 1
    assert intake.store.contents == {}
    assert intake.store.documents == {}
    assert intake.repository.requests[REQUEST_ID].documents == {}
    assert intake.repository.outbox == []
    assert intake.outbox_ready.calls == 0


async def test_a_file_that_does_not_open_as_its_type_is_refused_before_a_byte_is_written(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))
    written: list[str] = []
    write = intake.store.write

    async def recording(document_id: str, content: AsyncIterable[bytes]) -> None:
        written.append(document_id)
        await write(document_id, content)

    intake.store.write = recording  # type: ignore[method-assign]

    with pytest.raises(Unreadable) as refused:
        await intake.attach(request, "SURAT", parts(PROGRAM_AS_PDF[:9], PROGRAM_AS_PDF[9:]))

    assert refused.value.code == "document_unreadable"
    assert written == []
    assert intake.repository.requests[REQUEST_ID].documents == {}
    assert intake.repository.outbox == []


async def test_a_replaced_document_is_removed_with_its_bytes_once_the_new_one_is_recorded(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))
    old = (await intake.attach(request, "KK", PDF)).document
    current = await intake.repository.get(REQUEST_ID)
    assert current is not None

    attachment = await intake.attach(current, "KK", JPEG)

    assert attachment.replaces == old.document_id
    assert intake.repository.requests[REQUEST_ID].documents == {
        "KK": attachment.document.document_id
    }
    assert (
        set(intake.store.documents)
        == set(intake.store.contents)
        == {attachment.document.document_id}
    )
    replaced = DocumentAttached.model_validate(intake.repository.outbox[-1].data)
    assert replaced.replaces == old.document_id


async def test_a_replacement_the_request_no_longer_takes_keeps_the_old_document(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))
    old = (await intake.attach(request, "KK", PDF)).document
    current = await intake.repository.get(REQUEST_ID)
    assert current is not None

    async def while_the_office_claims_it() -> AsyncIterator[bytes]:
        yield JPEG
        stored = intake.repository.requests[REQUEST_ID]
        intake.repository.requests[REQUEST_ID] = dataclasses.replace(
            stored, status=RequestStatus.IN_VERIFICATION
        )

    with pytest.raises(NotAttachable):
        await intake.attach(current, "KK", while_the_office_claims_it())

    assert intake.repository.requests[REQUEST_ID].documents == {"KK": old.document_id}
    assert set(intake.store.documents) == set(intake.store.contents) == {old.document_id}


async def test_a_size_announced_over_the_limit_is_refused_before_reading(intake: Intake) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))
    body = Counted(PDF)

    with pytest.raises(TooLarge):
        await intake.attach(request, "SURAT", aiter(body), declared_bytes=600_001)

    assert body.read == 0
    assert intake.store.contents == {}


async def test_a_request_the_office_works_on_takes_no_document_and_none_is_read(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID, status=RequestStatus.APPROVED))
    body = Counted(PDF)

    with pytest.raises(NotAttachable):
        await intake.attach(request, "KK", aiter(body))

    assert body.read == 0
    assert intake.store.contents == {}


async def test_of_the_last_two_documents_arriving_together_one_completes_the_request(
    intake: Intake,
) -> None:
    await intake.holds(waiting_request(REQUEST_ID))
    first, second = [await intake.repository.get(REQUEST_ID) for _ in range(2)]
    assert first is not None
    assert second is not None

    await asyncio.gather(
        intake.attach(first, "KK", aiter(Counted(PDF[:8], PDF[8:]))),
        intake.attach(second, "SURAT", aiter(Counted(PDF[:8], PDF[8:]))),
    )

    assert sorted(intake.repository.requests[REQUEST_ID].documents) == ["KK", "SURAT"]
    assert intake.published().count(RequestCompleted.event_type) == 1
    assert intake.published().count(DocumentAttached.event_type) == 2


async def test_a_document_the_request_no_longer_takes_when_it_is_recorded_is_removed(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))

    async def while_the_office_claims_it() -> AsyncIterator[bytes]:
        yield PDF
        stored = intake.repository.requests[REQUEST_ID]
        intake.repository.requests[REQUEST_ID] = dataclasses.replace(
            stored, status=RequestStatus.IN_VERIFICATION
        )

    with pytest.raises(NotAttachable):
        await intake.attach(request, "KK", while_the_office_claims_it())

    assert intake.store.documents == {}
    assert intake.store.contents == {}
    assert intake.repository.outbox == []


async def test_only_the_requests_current_documents_are_read(intake: Intake) -> None:
    returned = await intake.holds(waiting_request(REQUEST_ID, status=RequestStatus.NEEDS_REVISION))
    old = (await intake.attach(returned, "KK", PDF)).document
    request = await intake.repository.get(REQUEST_ID)
    assert request is not None
    new = (await intake.attach(request, "KK", PDF + b"v2")).document
    other = await intake.holds(waiting_request("0b5d6a1e-0000-4000-8000-000000000002"))
    foreign = (await intake.attach(other, "KK", PDF)).document
    current = await intake.repository.get(REQUEST_ID)
    assert current is not None

    found = await intake.read(current, new.document_id)
    replaced = await intake.read(current, old.document_id)
    elsewhere = await intake.read(current, foreign.document_id)

    assert found == (new, PDF + b"v2")
    assert replaced is None
    assert elsewhere is None


async def test_a_read_by_an_officer_is_recorded_before_the_bytes_are_handed_out(
    intake: Intake,
) -> None:
    request = await intake.holds(waiting_request(REQUEST_ID))
    document = (await intake.attach(request, "KK", PDF)).document
    current = await intake.repository.get(REQUEST_ID)
    assert current is not None
    before = len(intake.repository.outbox)
    verifier = Actor(
        kind=ActorKind.STAFF,
        id="verifier-1",
        role="verifier",
        service_point="KANTOR_DINAS",
        channel=Channel.API,
    )

    by_citizen = await intake.read(current, document.document_id)
    by_verifier = await intake.read(current, document.document_id, reader=verifier)

    assert by_citizen == by_verifier == (document, PDF)
    [viewed] = intake.repository.outbox[before:]
    assert viewed.type == DocumentViewed.event_type
    assert viewed.data["actor"]["id"] == "verifier-1"
    assert viewed.data["document_id"] == document.document_id
