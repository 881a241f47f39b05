"""What every document store and every request repository must do with documents, fake or
MongoDB alike.

Each class is abstract: a subclass named `Test…` provides a function-scoped `store` or
`repository` fixture holding an empty store.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import pytest

from services.intake.domain.citizen_request import RequestStatus
from services.intake.domain.documents import StoredDocument
from services.intake.service_layer.ports import DocumentStore, RequestRepository
from shared.events.models.requests import DocumentAttached
from shared.files import MediaType
from tests.builders import CITIZEN, T0, wrapped
from tests.documents import PDF, parts, waiting_request

LARGE = PDF + os.urandom(700_000)
"""Several chunks' worth, with a last one that is not full."""


def description(content: bytes, document_id: str = "doc-1") -> StoredDocument:
    return StoredDocument(
        document_id=document_id,
        request_id="req-1",
        requirement="KK",
        media_type=MediaType.PDF,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


class Interrupted(Exception):
    """The upload broke off: the client went away, or its file was refused halfway."""


async def breaking_off(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise Interrupted


class DocumentStoreContract:
    @pytest.mark.parametrize("content", [PDF, LARGE], ids=["small", "several chunks"])
    async def test_a_committed_document_reads_back_byte_for_byte(
        self, store: DocumentStore, content: bytes
    ) -> None:
        await store.write("doc-1", parts(content[:1000], content[1000:400_000], content[400_000:]))
        await store.commit(description(content), stored_at=T0)

        found = await store.read("doc-1")

        assert found == (description(content), content)

    async def test_a_document_is_not_readable_before_its_description_is_committed(
        self, store: DocumentStore
    ) -> None:
        await store.write("doc-1", parts(PDF))

        assert await store.read("doc-1") is None

    async def test_an_upload_that_breaks_off_leaves_nothing_readable(
        self, store: DocumentStore
    ) -> None:
        with pytest.raises(Interrupted):
            await store.write("doc-1", breaking_off(LARGE[:300_000], LARGE[300_000:600_000]))

        assert await store.read("doc-1") is None

    async def test_a_discarded_document_is_gone_and_discarding_again_changes_nothing(
        self, store: DocumentStore
    ) -> None:
        await store.write("doc-1", parts(LARGE))
        await store.commit(description(LARGE), stored_at=T0)
        await store.write("doc-2", parts(PDF))
        await store.commit(description(PDF, "doc-2"), stored_at=T0)

        await store.discard("doc-1")
        await store.discard("doc-1")

        assert await store.read("doc-1") is None
        assert await store.read("doc-2") == (description(PDF, "doc-2"), PDF)


class RequestDocumentsContract:
    async def test_attaching_sets_the_document_and_queues_the_events(
        self, repository: RequestRepository
    ) -> None:
        request = waiting_request("req-1")
        await repository.add(request, [])
        event = wrapped(
            DocumentAttached(
                actor=CITIZEN,
                request_id="req-1",
                document_id="doc-1",
                requirement="KK",
                media_type="application/pdf",
                size_bytes=10,
                sha256="0" * 64,
                attached_at=T0,
            )
        )

        attached = await repository.attach_document(
            "req-1",
            requirement="KK",
            document_id="doc-1",
            seen={"KK": None, "SURAT": None},
            status=RequestStatus.SUBMITTED,
            outbox=[event],
        )

        assert attached is True
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.documents == {"KK": "doc-1"}
        assert loaded.missing_documents == ["SURAT"]

    async def test_a_replacement_is_kept_when_the_replaced_document_is_still_there(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(
            waiting_request(
                "req-1", status=RequestStatus.NEEDS_REVISION, documents={"KK": "doc-1"}
            ),
            [],
        )

        attached = await repository.attach_document(
            "req-1",
            requirement="KK",
            document_id="doc-2",
            seen={"KK": "doc-1", "SURAT": None},
            status=RequestStatus.NEEDS_REVISION,
            outbox=[],
        )

        assert attached is True
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.documents == {"KK": "doc-2"}

    async def test_nothing_is_attached_once_another_document_came_meanwhile(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(waiting_request("req-1", documents={"KK": "doc-1"}), [])

        attached = await repository.attach_document(
            "req-1",
            requirement="SURAT",
            document_id="doc-2",
            seen={"KK": None, "SURAT": None},
            status=RequestStatus.SUBMITTED,
            outbox=[],
        )

        assert attached is False
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.documents == {"KK": "doc-1"}

    async def test_nothing_is_attached_once_the_status_changed(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(waiting_request("req-1", status=RequestStatus.IN_VERIFICATION), [])

        attached = await repository.attach_document(
            "req-1",
            requirement="KK",
            document_id="doc-1",
            seen={"KK": None},
            status=RequestStatus.SUBMITTED,
            outbox=[],
        )

        assert attached is False
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.documents == {}

    async def test_of_two_first_documents_for_one_requirement_only_one_is_attached(
        self, repository: RequestRepository
    ) -> None:
        await repository.add(waiting_request("req-1"), [])

        outcomes = [
            await repository.attach_document(
                "req-1",
                requirement="KK",
                document_id=document_id,
                seen={"KK": None},
                status=RequestStatus.SUBMITTED,
                outbox=[],
            )
            for document_id in ("doc-1", "doc-2")
        ]

        assert outcomes == [True, False]
        loaded = await repository.get("req-1")
        assert loaded is not None
        assert loaded.documents == {"KK": "doc-1"}
