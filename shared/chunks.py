"""A file's bytes in MongoDB as sealed chunks, each a document of its own by `_id`.

A file is split into chunks of `CHUNK_BYTES` as its bytes arrive, each sealed as personal data
for its file and place (`{context}/chunks/{n}`), so a chunk moved or swapped does not open.
Every full chunk is a document of its own (`_id` `{file_id}:{n}`); the last, shorter one is
handed back sealed for the file's description, so a file of less than a chunk is one write.
Only a chunk and the part that arrived with it are held at a time, however large the file, and
a read gives the chunks back one by one the same way. Chunks of an upload that failed are
removed; those of a process that died mid-upload stay unreachable and sealed. Every read and
write is by `_id`: the local engine scans the collection for anything else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.crypto import Cipher
from shared.mongo import Document

log = logging.getLogger(__name__)

CHUNK_BYTES = 255 * 1024
"""Well below MongoDB's 16 MiB document limit once sealed (base64 adds a third)."""


class ChunkMissing(RuntimeError):
    """A chunk the file's description counts is not stored."""


@dataclass(frozen=True)
class Written:
    """A file stored but for its last chunk: how many chunks went apart, and the last one
    sealed, for the description that makes the file readable."""

    chunks: int
    last_chunk: str


class SealedChunks:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self._collection = collection
        self._cipher = cipher

    async def write(self, file_id: str, content: AsyncIterable[bytes], *, context: str) -> Written:
        """Stores every full chunk as it arrives; a failure, the content's own included, removes
        them before it is raised."""
        written = 0
        pending = bytearray()
        try:
            async for part in content:
                pending += part
                while len(pending) > CHUNK_BYTES:
                    await self._put(file_id, written, bytes(pending[:CHUNK_BYTES]), context)
                    del pending[:CHUNK_BYTES]
                    written += 1
        except BaseException:
            # The chunk being written when it failed may have been stored all the same.
            await self.forget(file_id, written + 1)
            raise
        return Written(
            chunks=written, last_chunk=self.seal(bytes(pending), context=context, number=written)
        )

    def seal(self, data: bytes, *, context: str, number: int) -> str:
        return self._cipher.seal(data, context=_chunk_context(context, number))

    def open(self, sealed: str, *, context: str, number: int) -> bytes:
        return self._cipher.open(sealed, context=_chunk_context(context, number))

    async def read(self, file_id: str, count: int, *, context: str) -> list[bytes]:
        """The `count` chunks stored apart, opened, fetched at once."""
        found = await asyncio.gather(
            *(self._collection.find_one({"_id": _chunk_id(file_id, n)}) for n in range(count))
        )
        return [self._opened(file_id, n, chunk, context) for n, chunk in enumerate(found)]

    async def stream(
        self, file_id: str, count: int, last_chunk: str | None, *, context: str
    ) -> AsyncIterator[bytes]:
        """The file's bytes, one chunk fetched at a time: the `count` stored apart, then the
        sealed `last_chunk` of its description, if it has one."""
        for number in range(count):
            chunk = await self._collection.find_one({"_id": _chunk_id(file_id, number)})
            yield self._opened(file_id, number, chunk, context)
        if last_chunk is not None:
            yield self.open(last_chunk, context=context, number=count)

    async def forget(self, file_id: str, count: int) -> None:
        """Removes a file's chunks if the database lets it; a failure is logged, not raised:
        chunks left behind are unreachable and sealed, and the caller's own failure matters."""
        try:
            await asyncio.shield(self._remove(file_id, count))
        except PyMongoError as exc:
            log.warning("chunks of file %s were left: %r", file_id, exc)

    async def _put(self, file_id: str, number: int, data: bytes, context: str) -> None:
        sealed = self.seal(data, context=context, number=number)
        await self._collection.insert_one({"_id": _chunk_id(file_id, number), "data": sealed})

    def _opened(self, file_id: str, number: int, chunk: Document | None, context: str) -> bytes:
        if chunk is None:
            raise ChunkMissing(f"{file_id}:{number}")
        return self.open(chunk["data"], context=context, number=number)

    async def _remove(self, file_id: str, count: int) -> None:
        """One delete by `_id` per chunk: the local engine scans the collection for `$in`."""
        await asyncio.gather(
            *(self._collection.delete_one({"_id": _chunk_id(file_id, n)}) for n in range(count))
        )


def _chunk_id(file_id: str, number: int) -> str:
    return f"{file_id}:{number}"


def _chunk_context(context: str, number: int) -> str:
    return f"{context}/chunks/{number}"
