"""Official letters in MongoDB, each under its agenda id (`2026-00042`), carrying its outbox.

The agenda number is the `_id`: a registration inserts its letter only if the number is free, so
of two registrations at once exactly one gets a number, none gets it twice, and a number is used
only by a stored letter. A head document per year (`agenda_heads`) says where to start probing;
it may lag behind, never run ahead. Changes are conditional updates on the letter's revision.

The sender, what the letter is about, and the free texts of the chain may name people: they are
stored sealed. So is the scan, in chunks of its own collection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from datetime import date
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from services.processing.letters.domain.details import Confidentiality, IncomingLetter, Reply
from services.processing.letters.domain.dispositions import Disposition, DispositionState, Official
from services.processing.letters.domain.letter import Letter, LetterState
from services.processing.letters.domain.policy import Urgency
from services.processing.letters.ports import StoredScan
from shared.chunks import SealedChunks, Written
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import (
    Document,
    insert_new,
    outbox_fields,
    update_document,
    with_outbox,
)
from shared.outbox import Outbox

log = logging.getLogger(__name__)


class MongoLetterRepository:
    def __init__(
        self,
        letters: AsyncCollection[Document],
        heads: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self._letters = letters
        self._heads = heads
        self._cipher = cipher
        self.outgoing = Outbox()

    async def agenda_head(self, year: int) -> int:
        head = await self._heads.find_one({"_id": str(year)})
        return 0 if head is None else int(head["last"])

    async def advance_agenda(self, year: int, number: int) -> None:
        """Raises the head to `number` unless a later registration raised it further."""
        await insert_new(self._heads, {"_id": str(year), "last": 0})
        await update_document(
            self._heads, str(year), {"$set": {"last": number}}, expected={"last": {"$lt": number}}
        )

    async def add(self, letter: Letter, *, outbox: list[CloudEvent]) -> bool:
        return await insert_new(
            self._letters,
            {
                "_id": letter.letter_id,
                "year": letter.year,
                "agenda_number": letter.agenda_number,
                "service_point": letter.service_point,
                "registered_by": letter.registered_by,
                "received_at": letter.received_at,
                "details": self._details(letter),
                "revision": 0,
                **self._changing(letter),
                **outbox_fields(outbox, self._cipher),
            },
        )

    async def get(self, letter_id: str) -> tuple[Letter, int] | None:
        document = await self._letters.find_one({"_id": letter_id}, {"outbox": 0})
        if document is None:
            return None
        details = document["details"]
        sealed = self._cipher.open_json(details["sealed"], context=_context(letter_id, "details"))
        reply = document["reply"]
        letter = Letter(
            letter_id=letter_id,
            year=document["year"],
            agenda_number=document["agenda_number"],
            details=IncomingLetter(
                sender=sealed["sender"],
                reference_number=details["reference_number"],
                letter_date=date.fromisoformat(details["letter_date"]),
                regarding=sealed["regarding"],
                classification=details["classification"],
                urgency=Urgency(details["urgency"]),
                confidentiality=Confidentiality(details["confidentiality"]),
                reply_due=None
                if details["reply_due"] is None
                else date.fromisoformat(details["reply_due"]),
            ),
            service_point=document["service_point"],
            registered_by=document["registered_by"],
            received_at=document["received_at"],
            due_at=document["due_at"],
            state=LetterState(document["state"]),
            dispositions={
                item["id"]: self._disposition(letter_id, item) for item in document["dispositions"]
            },
            reply=None
            if reply is None
            else Reply(
                number=reply["number"],
                reply_date=date.fromisoformat(reply["reply_date"]),
                registered_at=reply["registered_at"],
                by=reply["by"],
            ),
            scan_id=document["scan_id"],
            closed_at=document["closed_at"],
            deadline_marks=set(document["deadline_marks"]),
        )
        return letter, int(document["revision"])

    async def save(self, letter: Letter, *, revision: int, outbox: list[CloudEvent]) -> bool:
        return await update_document(
            self._letters,
            letter.letter_id,
            with_outbox(
                {"$set": self._changing(letter), "$inc": {"revision": 1}}, outbox, self._cipher
            ),
            expected={"revision": revision},
        )

    async def received_in(self, years: list[int]) -> list[Letter]:
        """The letters of the given years, by `_id` range: the monthly report's reading, over a
        collection of some thousands of letters a year."""
        letters: list[Letter] = []
        for year in years:
            cursor = self._letters.find(
                {"_id": {"$gte": f"{year}-", "$lt": f"{year}-~"}}, {"_id": 1}
            )
            async for document in cursor:
                loaded = await self.get(document["_id"])
                if loaded is not None:
                    letters.append(loaded[0])
        return letters

    def _details(self, letter: Letter) -> Document:
        details = letter.details
        return {
            "reference_number": details.reference_number,
            "letter_date": details.letter_date.isoformat(),
            "classification": details.classification,
            "urgency": details.urgency.value,
            "confidentiality": details.confidentiality.value,
            "reply_due": None if details.reply_due is None else details.reply_due.isoformat(),
            "sealed": self._cipher.seal_json(
                {"sender": details.sender, "regarding": details.regarding},
                context=_context(letter.letter_id, "details"),
            ),
        }

    def _changing(self, letter: Letter) -> Document:
        reply = letter.reply
        return {
            "state": letter.state.value,
            "due_at": letter.due_at,
            "dispositions": [
                self._disposition_document(letter.letter_id, disposition)
                for disposition in letter.dispositions.values()
            ],
            "reply": None
            if reply is None
            else {
                "number": reply.number,
                "reply_date": reply.reply_date.isoformat(),
                "registered_at": reply.registered_at,
                "by": reply.by,
            },
            "scan_id": letter.scan_id,
            "closed_at": letter.closed_at,
            "deadline_marks": sorted(letter.deadline_marks),
        }

    def _disposition_document(self, letter_id: str, disposition: Disposition) -> Document:
        def sealed(text: str | None, name: str) -> str | None:
            context = _context(letter_id, f"{disposition.id}/{name}")
            return None if text is None else self._cipher.seal_text(text, context=context)

        return {
            "id": disposition.id,
            "parent_id": disposition.parent_id,
            "by": {"id": disposition.by.id, "unit": disposition.by.unit},
            "to": {"id": disposition.to.id, "unit": disposition.to.unit},
            "instruction": disposition.instruction,
            "note": sealed(disposition.note, "note"),
            "due_at": disposition.due_at,
            "sent_at": disposition.sent_at,
            "state": disposition.state.value,
            "read_at": disposition.read_at,
            "followed_up_at": disposition.followed_up_at,
            "follow_up_note": sealed(disposition.follow_up_note, "follow_up"),
            "closed_at": disposition.closed_at,
        }

    def _disposition(self, letter_id: str, item: Document) -> Disposition:
        def opened(value: str | None, name: str) -> str | None:
            context = _context(letter_id, f"{item['id']}/{name}")
            return None if value is None else self._cipher.open_text(value, context=context)

        return Disposition(
            id=item["id"],
            parent_id=item["parent_id"],
            by=Official(item["by"]["id"], item["by"]["unit"]),
            to=Official(item["to"]["id"], item["to"]["unit"]),
            instruction=item["instruction"],
            note=opened(item["note"], "note"),
            due_at=item["due_at"],
            sent_at=item["sent_at"],
            state=DispositionState(item["state"]),
            read_at=item["read_at"],
            followed_up_at=item["followed_up_at"],
            follow_up_note=opened(item["follow_up_note"], "follow_up"),
            closed_at=item["closed_at"],
        )


class ScanNotStored(RuntimeError):
    """A scan's description names an id that is taken: ids are random, so never expected."""


class MongoLetterScans:
    """Scans of letters in sealed chunks (`shared.chunks`) in `letter_scan_chunks`, each scan
    described under its own id in `letter_scans`, its last chunk with it; the letter's `scan_id`
    says which one is its scan. The description is written only after every chunk, so a scan
    without one was never finished, and nothing reads it. A scan stored whole, before scans were
    kept in chunks, is one sealed document under its letter's id, and still reads."""

    def __init__(
        self,
        scans: AsyncCollection[Document],
        chunks: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self._scans = scans
        self._chunks = SealedChunks(chunks, cipher)
        self._cipher = cipher
        self._written: dict[str, Written] = {}
        """Each scan written and not yet committed, with its last chunk for its description."""

    async def write(self, letter_id: str, scan_id: str, content: AsyncIterable[bytes]) -> None:
        self._written[scan_id] = await self._chunks.write(
            scan_id, content, context=_scan_context(letter_id, scan_id)
        )

    async def commit(
        self, letter_id: str, scan_id: str, *, media_type: str, size_bytes: int
    ) -> None:
        written = self._written.pop(scan_id)
        description = {
            "_id": scan_id,
            "letter_id": letter_id,
            "media_type": media_type,
            "size_bytes": size_bytes,
            "chunks": written.chunks,
            "last_chunk": written.last_chunk,
        }
        if not await insert_new(self._scans, description):
            raise ScanNotStored(scan_id)

    async def discard(self, letter_id: str, scan_id: str) -> None:
        try:
            description = await self._scans.find_one({"_id": scan_id})
            if description is None:
                await self._scans.delete_one({"_id": letter_id, "scan_id": scan_id})
                return
            if description["letter_id"] != letter_id:
                return
            await self._scans.delete_one({"_id": scan_id})
        except PyMongoError as exc:
            log.warning("scan %s of letter %s was left: %r", scan_id, letter_id, exc)
            return
        await self._chunks.forget(scan_id, int(description["chunks"]))

    async def read(self, letter_id: str, scan_id: str) -> StoredScan | None:
        description = await self._scans.find_one({"_id": scan_id})
        if description is None:
            return await self._read_whole(letter_id, scan_id)
        if description["letter_id"] != letter_id:
            return None
        return StoredScan(
            media_type=description["media_type"],
            size_bytes=int(description["size_bytes"]),
            content=self._chunks.stream(
                scan_id,
                int(description["chunks"]),
                description["last_chunk"],
                context=_scan_context(letter_id, scan_id),
            ),
        )

    async def _read_whole(self, letter_id: str, scan_id: str) -> StoredScan | None:
        """A scan stored whole under its letter's id, before scans were kept in chunks."""
        document = await self._scans.find_one({"_id": letter_id})
        if document is None or document["scan_id"] != scan_id:
            return None
        content = self._cipher.open(
            document["content"], context=_context(letter_id, f"scan/{scan_id}")
        )
        return StoredScan(
            media_type=document["media_type"], size_bytes=len(content), content=_once(content)
        )


class MongoLetterIndex:
    """Per official, the letters they hold dispositions of; per office, its open letters.
    Each a document by `_id` with a set of letter ids, kept from the letters' own events."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def note_holder(self, official_id: str, letter_id: str) -> None:
        await self._add(f"holder|{official_id}", letter_id)

    async def held_by(self, official_id: str) -> list[str]:
        return await self._listed(f"holder|{official_id}")

    async def forget_held(self, official_id: str, letter_ids: list[str]) -> None:
        await self._remove(f"holder|{official_id}", letter_ids)

    async def note_open(self, service_point: str, letter_id: str) -> None:
        await self._add(f"open|{service_point}", letter_id)

    async def open_letters(self, service_point: str) -> list[str]:
        return await self._listed(f"open|{service_point}")

    async def forget_open(self, service_point: str, letter_ids: list[str]) -> None:
        await self._remove(f"open|{service_point}", letter_ids)

    async def _add(self, key: str, letter_id: str) -> None:
        await insert_new(self._collection, {"_id": key, "letters": []})
        await update_document(self._collection, key, {"$addToSet": {"letters": letter_id}})

    async def _listed(self, key: str) -> list[str]:
        document: dict[str, Any] | None = await self._collection.find_one({"_id": key})
        return [] if document is None else sorted(document["letters"])

    async def _remove(self, key: str, letter_ids: list[str]) -> None:
        await update_document(self._collection, key, {"$pullAll": {"letters": letter_ids}})


def _context(letter_id: str, part: str) -> str:
    return f"letters/{letter_id}/{part}"


def _scan_context(letter_id: str, scan_id: str) -> str:
    return _context(letter_id, f"scan/{scan_id}")


async def _once(content: bytes) -> AsyncIterator[bytes]:
    yield content
