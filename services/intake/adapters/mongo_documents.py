"""Documents' bytes in intake's database: sealed chunks (`shared.chunks`) in `document_chunks`.

A file is split into chunks, each sealed as personal data for its document and place, so a chunk
moved or swapped does not open. Every full chunk is a document of its own in `document_chunks`
(`_id` `{document_id}:{n}`); the last, shorter one goes into the file's description in
`documents`, so a file of less than a chunk (most scans) is one write. The description is
written only after every chunk: a document without one was never finished, and nothing reads
it. Chunks of an upload that failed are removed; those of a process that died mid-upload stay
unreachable and sealed. Every read and write is by `_id`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from services.intake.domain.documents import StoredDocument
from shared.chunks import CHUNK_BYTES, ChunkMissing, SealedChunks, Written
from shared.crypto import Cipher
from shared.files import MediaType
from shared.mongo import Document, insert_new

log = logging.getLogger(__name__)


class DocumentNotStored(RuntimeError):
    """A document's description names an id that is taken: ids are random, so never expected."""


class MongoDocumentStore:
    def __init__(
        self,
        documents: AsyncCollection[Document],
        chunks: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self._documents = documents
        self._chunks = SealedChunks(chunks, cipher)
        self._written: dict[str, Written] = {}
        """Each file written and not yet committed, with its last chunk for its description."""

    async def write(self, document_id: str, content: AsyncIterable[bytes]) -> None:
        self._written[document_id] = await self._chunks.write(
            document_id, content, context=_context(document_id)
        )

    async def commit(self, document: StoredDocument, *, stored_at: datetime) -> None:
        written = self._written.pop(document.document_id)
        description = {
            "_id": document.document_id,
            "request_id": document.request_id,
            "requirement": document.requirement,
            "media_type": document.media_type.value,
            "size_bytes": document.size_bytes,
            "sha256": document.sha256,
            "chunk_bytes": CHUNK_BYTES,
            "chunks": written.chunks,
            "last_chunk": written.last_chunk,
            "stored_at": stored_at,
        }
        if not await insert_new(self._documents, description):
            raise DocumentNotStored(document.document_id)

    async def discard(self, document_id: str) -> None:
        try:
            description = await self._documents.find_one({"_id": document_id})
            if description is None:
                return
            await self._documents.delete_one({"_id": document_id})
        except PyMongoError as exc:
            log.warning("unattached document %s was left: %r", document_id, exc)
            return
        await self._chunks.forget(document_id, _separate_chunks(description))

    async def read(self, document_id: str) -> tuple[StoredDocument, bytes] | None:
        description = await self._documents.find_one({"_id": document_id})
        if description is None:
            return None
        context = _context(document_id)
        try:
            parts = await self._chunks.read(
                document_id, _separate_chunks(description), context=context
            )
        except ChunkMissing:
            raise DocumentNotStored(document_id) from None
        if "last_chunk" in description:
            parts.append(
                self._chunks.open(description["last_chunk"], context=context, number=len(parts))
            )
        document = StoredDocument(
            document_id=document_id,
            request_id=description["request_id"],
            requirement=description["requirement"],
            media_type=MediaType(description["media_type"]),
            size_bytes=description["size_bytes"],
            sha256=description["sha256"],
        )
        return document, b"".join(parts)


def _separate_chunks(description: Document) -> int:
    """Chunks stored apart from the description: all of them for a file stored before the last
    one went into its description."""
    if "chunks" in description:
        return int(description["chunks"])
    return -(-int(description["size_bytes"]) // int(description["chunk_bytes"]))


def _context(document_id: str) -> str:
    return f"documents/{document_id}"
