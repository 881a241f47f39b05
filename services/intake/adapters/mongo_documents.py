"""Documents' bytes in intake's database: sealed chunks, each a document of its own by `_id`.

A file is split into chunks of `CHUNK_BYTES`, each sealed as personal data for its document and
place, so a chunk moved or swapped does not open. Every full chunk is a document of its own in
`document_chunks` (`_id` `{document_id}:{n}`); the last, shorter one goes into the file's
description in `documents`, so a file of less than a chunk (most scans) is one write. The
description is written only after every chunk: a document without one was never finished, and
nothing reads it. Chunks of an upload that failed are removed; those of a process that died
mid-upload stay unreachable and sealed. Every read and write is by `_id`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from services.intake.domain.documents import StoredDocument
from shared.crypto import Cipher
from shared.files import MediaType
from shared.mongo import Document, insert_new

log = logging.getLogger(__name__)

CHUNK_BYTES = 255 * 1024
"""Well below MongoDB's 16 MiB document limit once sealed (base64 adds a third)."""


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
        self._chunks = chunks
        self._cipher = cipher
        self._tails: dict[str, bytes] = {}
        """The last chunk of each file written and not yet committed, for its description."""

    async def write(self, document_id: str, content: AsyncIterable[bytes]) -> None:
        written = 0
        pending = bytearray()
        try:
            async for part in content:
                pending += part
                while len(pending) > CHUNK_BYTES:
                    await self._put(document_id, written, bytes(pending[:CHUNK_BYTES]))
                    del pending[:CHUNK_BYTES]
                    written += 1
        except BaseException:
            # The chunk being written when it failed may have been stored all the same.
            await self._forget_chunks(document_id, written + 1)
            raise
        self._tails[document_id] = bytes(pending)

    async def commit(self, document: StoredDocument, *, stored_at: datetime) -> None:
        tail = self._tails.pop(document.document_id, b"")
        chunks = _chunk_count(document.size_bytes) - 1
        description = {
            "_id": document.document_id,
            "request_id": document.request_id,
            "requirement": document.requirement,
            "media_type": document.media_type.value,
            "size_bytes": document.size_bytes,
            "sha256": document.sha256,
            "chunk_bytes": CHUNK_BYTES,
            "chunks": chunks,
            "last_chunk": self._cipher.seal(
                tail, context=_chunk_context(document.document_id, chunks)
            ),
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
        await self._forget_chunks(document_id, _separate_chunks(description))

    async def read(self, document_id: str) -> tuple[StoredDocument, bytes] | None:
        description = await self._documents.find_one({"_id": document_id})
        if description is None:
            return None
        separate = _separate_chunks(description)
        found = await asyncio.gather(
            *(
                self._chunks.find_one({"_id": _chunk_id(document_id, number)})
                for number in range(separate)
            )
        )
        if any(chunk is None for chunk in found):
            raise DocumentNotStored(document_id)
        sealed = [chunk["data"] for chunk in found if chunk is not None]
        if "last_chunk" in description:
            sealed.append(description["last_chunk"])
        content = b"".join(
            self._cipher.open(data, context=_chunk_context(document_id, number))
            for number, data in enumerate(sealed)
        )
        document = StoredDocument(
            document_id=document_id,
            request_id=description["request_id"],
            requirement=description["requirement"],
            media_type=MediaType(description["media_type"]),
            size_bytes=description["size_bytes"],
            sha256=description["sha256"],
        )
        return document, content

    async def _put(self, document_id: str, number: int, data: bytes) -> None:
        sealed = self._cipher.seal(data, context=_chunk_context(document_id, number))
        await self._chunks.insert_one({"_id": _chunk_id(document_id, number), "data": sealed})

    async def _forget_chunks(self, document_id: str, count: int) -> None:
        """Removes an unfinished upload's chunks if the database lets it; the caller's failure
        is what matters, and chunks left behind are unreachable and sealed."""
        try:
            await asyncio.shield(self._remove_chunks(document_id, count))
        except PyMongoError as exc:
            log.warning("chunks of an unfinished document %s were left: %r", document_id, exc)

    async def _remove_chunks(self, document_id: str, count: int) -> None:
        """One delete by `_id` per chunk: the local engine scans the collection for `$in`."""
        await asyncio.gather(
            *(
                self._chunks.delete_one({"_id": _chunk_id(document_id, number)})
                for number in range(count)
            )
        )


def _chunk_count(size_bytes: int) -> int:
    return max(-(-size_bytes // CHUNK_BYTES), 1)


def _separate_chunks(description: Document) -> int:
    """Chunks stored apart from the description: all of them for a file stored before the last
    one went into its description."""
    if "chunks" in description:
        return int(description["chunks"])
    return -(-int(description["size_bytes"]) // int(description["chunk_bytes"]))


def _chunk_id(document_id: str, number: int) -> str:
    return f"{document_id}:{number}"


def _chunk_context(document_id: str, number: int) -> str:
    return f"documents/{document_id}/chunks/{number}"
