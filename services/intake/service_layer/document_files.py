"""A document's bytes checked and written to the store: the one way a file becomes a document of
a request, whether it comes with the form, after it, or through a chat."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator

from services.intake.domain.catalogue import DocumentRequirement
from services.intake.domain.documents import StoredDocument
from services.intake.service_layer.ports import DocumentStore
from shared.clock import Clock
from shared.file_contents import check_contents
from shared.files import FileContent, check_size

Content = bytes | AsyncIterable[bytes]
"""A whole file, or its bytes as they arrive (an HTTP body, a provider's download)."""


async def store_file(
    *,
    request_id: str,
    requirement: DocumentRequirement,
    content: Content,
    store: DocumentStore,
    clock: Clock,
    declared_bytes: int | None = None,
) -> StoredDocument:
    """Stores a file for one requirement of a request and makes it readable.

    A wrong type or size is refused (FileRefused) as soon as the bytes show it, before the rest
    is read; so is a size the sender announced (`declared_bytes`) over the limit, before reading.
    A whole file that does not open as its type, or is beyond the bounds of pages and pixels, is
    refused (Unreadable) before any of it is written, so a refused file costs the database
    nothing. Until then the file is held in memory, never more than the requirement's size.
    """
    if declared_bytes is not None:
        check_size(requirement, declared_bytes)
    content_check = FileContent(requirement)
    whole = await _received(content, content_check)
    media_type, size_bytes, sha256 = content_check.finish()
    await check_contents(requirement, media_type, whole)
    document_id = str(uuid.uuid4())
    await store.write(document_id, _once(whole))
    document = StoredDocument(
        document_id=document_id,
        request_id=request_id,
        requirement=requirement.code,
        media_type=media_type,
        size_bytes=size_bytes,
        sha256=sha256,
    )
    await store.commit(document, stored_at=clock())
    return document


async def _received(content: Content, check: FileContent) -> bytes:
    """The content's bytes, refused (by raising) as soon as they show a wrong type or size."""
    if isinstance(content, bytes):
        check.feed(content)
        return content
    received = bytearray()
    async for part in content:
        if part:
            check.feed(part)
            received += part
    return bytes(received)


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content
