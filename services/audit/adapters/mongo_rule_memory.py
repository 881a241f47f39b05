"""The integrity engine's progress in audit's MongoDB (`integrity_engine`): its position, and the
rules' memory one part per document.

The position is one document (`_id` `engine`), moved forward only from the position it was read
at, so that of two instances one advances. Each part of the memory (a request, an officer's day
or month) is a document `{part, upto, value}`: the part's name, the position up to which its
state holds, and the state as JSON (whose keys are officer ids, which a document's field names
could not all hold). A save inserts a new document for each part its entries changed, and one
without a value for each part the rules forgot, then moves the position; the documents replaced,
and then the marks of forgotten parts, are deleted `SUPERSEDED_PER_DELETE` at a time. So no
document grows with the log, and a save writes what its entries changed, not the memory.

Parts are inserted anew rather than updated in place for two reasons. A save writes its parts
before it moves the position (a crash in between leaves parts ahead of the position, which the
rules' idempotence absorbs), so an instance that then finds the position moved has written parts
too: updated in place, the state an instance behind wrote could replace a newer one, whereas a
load takes each part's newest document, by `upto`. And one insert command carries any number of
documents, while FerretDB 1.24 holds a PostgreSQL connection for each update of a command until
the command ends (`shared.mongo.UPDATES_PER_COMMAND`). A save is thus the parts' insert and the
position's update, two commands whatever it wrote, and one delete now and then; one that changed
no part is the position's update alone, as before, and an idle sweep saves nothing.

The memory is loaded whole, once, when the engine starts (or after another instance moved the
position). It holds what the rules saw within `AUDIT_INTEGRITY_MEMORY_DAYS`, forgotten parts
being deleted, so the load is bounded by that window and not by the log, and a sweep then reads
nothing but its entries; reading parts by key as entries need them would cost a command per part
on the local engine, which answers `$in` by scanning the collection.

A position document of the earlier shape, with the whole memory in `memory`, loads that memory,
every part marked changed: the first save writes it in parts and drops the field.
"""

from __future__ import annotations

from pymongo import DeleteOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from services.audit.domain.integrity.memory import MemoryChanges, RuleMemory
from shared.mongo import Document, insert_new, update_document

ENGINE = "engine"
DUPLICATE_KEY = 11000
SUPERSEDED_PER_DELETE = 1000
"""Replaced documents deleted in one command; until then a load passes over them."""


class MongoEngineProgress:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        *,
        superseded_per_delete: int = SUPERSEDED_PER_DELETE,
    ) -> None:
        self._collection = collection
        self._superseded_per_delete = superseded_per_delete
        self._saved: dict[str, int] = {}
        """Each part's newest document, by its `upto`."""
        self._superseded: list[str] = []

    async def load(self) -> tuple[int, RuleMemory]:
        """Reads the position first: the parts of every save up to it were inserted before it."""
        engine = await self._collection.find_one({"_id": ENGINE})
        versions: dict[str, list[Document]] = {}
        async for document in self._collection.find({"part": {"$exists": True}}):
            versions.setdefault(document["part"], []).append(document)
        self._saved, self._superseded = {}, []
        parts: dict[str, str] = {}
        for name, documents in versions.items():
            *older, newest = sorted(documents, key=lambda document: document["upto"])
            self._superseded += [document["_id"] for document in older]
            if newest["value"] is None:
                self._superseded.append(newest["_id"])
            else:
                parts[name] = newest["value"]
                self._saved[name] = newest["upto"]
        position = 0 if engine is None else int(engine["position"])
        if engine is not None and "memory" in engine:
            return position, RuleMemory.from_json(engine["memory"])
        return position, RuleMemory.from_parts(parts)

    async def save(self, position: int, changes: MemoryChanges, *, previous: int) -> bool:
        documents = [
            self._version(name, value, position) for name, value in changes.written.items()
        ]
        documents += [
            self._version(name, None, position) for name in changes.forgotten if name in self._saved
        ]
        if documents:
            await self._insert(documents)
        moved = await self._move(position, previous=previous)
        if len(self._superseded) >= self._superseded_per_delete:
            await self._collection.bulk_write(
                [DeleteOne({"_id": document_id}) for document_id in self._superseded]
            )
            self._superseded = []
        return moved

    def _version(self, name: str, value: str | None, position: int) -> Document:
        """The part's new document, which replaces its newest; without a value it marks the part
        forgotten, and is deleted after the document it hides (the deletes go in order)."""
        saved = self._saved.pop(name, None)
        upto = position if saved is None else max(position, saved)
        if saved is not None and saved != upto:
            self._superseded.append(_document_id(name, saved))
        if value is None:
            self._superseded.append(_document_id(name, upto))
        else:
            self._saved[name] = upto
        return {"_id": _document_id(name, upto), "part": name, "upto": upto, "value": value}

    async def _insert(self, documents: list[Document]) -> None:
        """A document that exists holds the same state: the part's state up to its `upto`, which
        another save (this instance's before a reload, or another instance's) wrote already."""
        try:
            await self._collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise

    async def _move(self, position: int, *, previous: int) -> bool:
        if previous == 0 and await insert_new(
            self._collection, {"_id": ENGINE, "position": position}
        ):
            return True
        return await update_document(
            self._collection,
            ENGINE,
            {"$set": {"position": position}, "$unset": {"memory": ""}},
            expected={"position": previous},
        )


def _document_id(name: str, upto: int) -> str:
    return f"{name}@{upto}"
