"""Use cases of a request's documents: attach a file, from the API or from a chat channel whose
provider handed over the bytes, and read one back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.citizen_request import CitizenRequest
from services.intake.domain.documents import (
    StoredDocument,
    attach,
    replaced_by_new,
    requirement_for,
)
from services.intake.service_layer.document_files import Content, store_file
from services.intake.service_layer.ports import DocumentStore, RequestRepository
from services.intake.service_layer.submission import SOURCE
from shared.clock import Clock
from shared.errors import Conflict
from shared.events.envelope import Actor
from shared.events.models.requests import DocumentViewed

ATTEMPTS = 5
"""Tries to record a document while other documents of the request arrive at the same moment."""


@dataclass(frozen=True)
class Attachment:
    """A document recorded on its request."""

    document: StoredDocument
    replaces: str | None
    request: CitizenRequest


async def attach_document(
    *,
    request: CitizenRequest,
    requirement: str,
    content: Content,
    actor: Actor,
    repository: RequestRepository,
    store: DocumentStore,
    catalogue: ServiceCatalogue,
    clock: Clock,
    declared_bytes: int | None = None,
) -> Attachment:
    """Stores a file for one of the request's requirements and records it on the request with
    its events, in one write.

    Whether the request takes the document now is checked before any byte is read; the file's
    type and size as its bytes arrive, so a wrong one is refused without reading the rest. The
    caller has checked that `actor` may act on `request`. A file that is refused, or that the
    request does not take in the end, is removed and never readable. A size the sender
    announced (`declared_bytes`) over the limit is refused before reading. The document a new
    one replaces is removed, chunks and all, once the request holds the new one (shielded, so
    a caller who hangs up does not leave it half removed); the replacement costs those deletes,
    a first document nothing more.
    """
    expected = requirement_for(catalogue.get(request.service_code), requirement)
    replaced_by_new(request, requirement)
    document = await store_file(
        request_id=request.request_id,
        requirement=expected,
        content=content,
        store=store,
        clock=clock,
        declared_bytes=declared_bytes,
    )
    try:
        attachment = await _record(request, document, actor, repository, clock)
    except BaseException:
        await store.discard(document.document_id)
        raise
    if attachment.replaces is not None:
        await asyncio.shield(store.discard(attachment.replaces))
    return attachment


async def _record(
    request: CitizenRequest,
    document: StoredDocument,
    actor: Actor,
    repository: RequestRepository,
    clock: Clock,
) -> Attachment:
    """Records the document if nothing it was decided on changed meanwhile, else decides again
    on the request as it is now (another document may have just completed it)."""
    for _ in range(ATTEMPTS):
        status = request.status
        seen = {
            code: request.documents.get(code)
            for code in {*request.required_documents, *request.documents, document.requirement}
        }
        now = clock()
        replaces = attach(request, document, actor=actor, now=now)
        if await repository.outgoing.commit(
            request.request_id,
            request.events,
            partial(
                repository.attach_document,
                request.request_id,
                requirement=document.requirement,
                document_id=document.document_id,
                seen=seen,
                status=status,
            ),
            source=SOURCE,
            time=now,
        ):
            return Attachment(document=document, replaces=replaces, request=request)
        reloaded = await repository.get(request.request_id)
        if reloaded is None:
            break
        request = reloaded
    raise Conflict("changed_meanwhile", "Permohonan baru saja berubah. Muat ulang lalu kirim lagi.")


async def read_document(
    *,
    request: CitizenRequest,
    document_id: str,
    store: DocumentStore,
    recorded_reader: Actor | None,
    repository: RequestRepository,
    now: datetime,
) -> tuple[StoredDocument, bytes] | None:
    """One of the request's documents as it holds them now, with its bytes; None for any other
    (replaced, never attached, or another request's).

    A `recorded_reader` (anyone but the citizen themselves) is named in a `DocumentViewed` event,
    queued before the bytes are handed out, so no read escapes the audit log.
    """
    if document_id not in request.documents.values():
        return None
    found = await store.read(document_id)
    if found is None or found[0].request_id != request.request_id:
        return None
    if recorded_reader is not None:
        viewed = DocumentViewed(
            actor=recorded_reader,
            request_id=request.request_id,
            document_id=document_id,
            requirement=found[0].requirement,
            viewed_at=now,
        )
        if not await repository.outgoing.commit(
            request.request_id,
            [viewed],
            partial(repository.add_events, request.request_id, status=None),
            source=SOURCE,
            time=now,
        ):
            return None
    return found
