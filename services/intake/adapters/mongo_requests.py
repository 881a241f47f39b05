"""Intake's request documents in MongoDB, each carrying its own outbox of events to publish.

Personal data (the applicant, the owner's phone number, the form's fingerprint) is stored sealed;
a keyed hash of the owner's number sits beside it for finding a citizen's requests by value.
A request is found by its tracking number through an index on it. Tracking numbers come from
one shared sequence, which each instance takes in blocks (`TrackingSequence`), each turned into
its number by a keyed permutation. The holds on a NIK's one open application per service are
kept in their own small collection: `_id` a keyed hash of the NIK and the service code, naming
the request, its tracking number and when it was held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from functools import partial
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from services.intake.domain.open_applications import OpenApplication
from services.intake.domain.tracking import tracking_number_for
from shared.crypto import Cipher
from shared.events.envelope import Actor, CloudEvent
from shared.events.models.requests import Applicant
from shared.mongo import (
    VERSION,
    Document,
    apply_once,
    insert_new,
    outbox_fields,
    update_document,
    upsert_document,
    with_outbox,
)
from shared.outbox import Outbox

OWNER_PURPOSE = "request-owner"
TRACKING_PURPOSE = "tracking-number"
OPEN_PURPOSE = "open-application"
TRACKING_NUMBER = "tracking_number"
SEQUENCE_BLOCK = 100
"""Sequence numbers an instance takes at once: one write per block, and a restart skips at most
a block's unused numbers of the 8.5e11 there are."""
CASE_STEP_AT = "case_step_at"
"""When the last case step recorded was taken: a step taken before it arrived late (its case's
events were published by two processing instances) and would set an outdated status."""


class MongoRequestRepository:
    def __init__(
        self,
        collection: AsyncCollection[Document],
        sequences: AsyncCollection[Document],
        open_applications: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._sequence = TrackingSequence(sequences)
        self._open_applications = open_applications
        self._cipher = cipher
        self._keyed_hash = partial(cipher.lookup_hash, purpose=TRACKING_PURPOSE)

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([(TRACKING_NUMBER, ASCENDING)])

    async def new_tracking_number(self) -> str:
        return tracking_number_for(await self._sequence.next(), self._keyed_hash)

    def _open_id(self, nik: str, service_code: str) -> str:
        return self._cipher.lookup_hash(nik, purpose=OPEN_PURPOSE) + "|" + service_code

    async def hold_open(
        self, nik: str, service_code: str, held: OpenApplication, *, replacing: str | None
    ) -> bool:
        open_id = self._open_id(nik, service_code)
        fields = {
            "request_id": held.request_id,
            "tracking_number": held.tracking_number,
            "held_at": held.held_at,
        }
        if replacing is None:
            return await insert_new(self._open_applications, {"_id": open_id, **fields})
        return await update_document(
            self._open_applications,
            open_id,
            {"$set": fields},
            expected={"request_id": replacing},
        )

    async def open_application(self, nik: str, service_code: str) -> OpenApplication | None:
        document = await self._open_applications.find_one({"_id": self._open_id(nik, service_code)})
        if document is None:
            return None
        return OpenApplication(
            request_id=document["request_id"],
            tracking_number=document["tracking_number"],
            held_at=document["held_at"],
        )

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        personal = {
            "applicant": request.applicant.model_dump(mode="json"),
            "owner_phone": request.owner_phone,
            "form_digest": request.form_digest,
            "form": request.form,
        }
        owner = request.owner_phone
        document = {
            "_id": request.request_id,
            "tracking_number": request.tracking_number,
            "service_code": request.service_code,
            "personal": self._cipher.seal_json(personal, context=_personal(request.request_id)),
            "owner": None
            if owner is None
            else self._cipher.lookup_hash(owner, purpose=OWNER_PURPOSE),
            "submitted_by": request.submitted_by.model_dump(mode="json"),
            "village": request.village,
            "service_point": request.service_point,
            "status": request.status.value,
            "submitted_at": request.submitted_at,
            "expected_at": request.expected_at,
            "required_documents": list(request.required_documents),
            "documents": request.documents,
            "history": [self._change(request.request_id, change) for change in request.history],
            **outbox_fields(outbox, self._cipher),
        }
        return await insert_new(self._collection, document)

    async def get(self, request_id: str) -> CitizenRequest | None:
        document = await self._collection.find_one({"_id": request_id}, {"outbox": 0})
        return None if document is None else self._request(document)

    async def find_by_tracking_number(self, tracking_number: str) -> CitizenRequest | None:
        document = await self._collection.find_one(
            {TRACKING_NUMBER: tracking_number}, {"outbox": 0}
        )
        return None if document is None else self._request(document)

    def _request(self, document: Document) -> CitizenRequest:
        personal: dict[str, Any] = self._cipher.open_json(
            document["personal"], context=_personal(document["_id"])
        )
        return CitizenRequest(
            request_id=document["_id"],
            tracking_number=document["tracking_number"],
            service_code=document["service_code"],
            applicant=Applicant.model_validate(personal["applicant"]),
            owner_phone=personal["owner_phone"],
            submitted_by=Actor.model_validate(document["submitted_by"]),
            village=document["village"],
            service_point=document["service_point"],
            status=RequestStatus(document["status"]),
            submitted_at=document["submitted_at"],
            expected_at=document["expected_at"],
            form=personal["form"],
            required_documents=tuple(document["required_documents"]),
            documents=dict(document["documents"]),
            form_digest=personal["form_digest"],
            history=[
                StatusChange(
                    status=RequestStatus(change["status"]),
                    at=change["at"],
                    note=None
                    if change["note"] is None
                    else self._cipher.open_text(change["note"], context=_note(document["_id"])),
                    documents=tuple(change.get("documents", ())),
                )
                for change in document["history"]
            ],
        )

    async def add_events(
        self,
        request_id: str,
        outbox: list[CloudEvent],
        *,
        status: RequestStatus | None,
        moved: StatusChange | None = None,
    ) -> bool:
        """Queues events of the request if its status is still `status` (any, for None)."""
        step: Document = {}
        if moved is not None:
            step = {
                "$set": {"status": moved.status.value},
                "$push": {"history": self._change(request_id, moved)},
            }
        return await update_document(
            self._collection,
            request_id,
            with_outbox(step, outbox, self._cipher),
            expected=None if status is None else {"status": status.value},
        )

    async def record_progress(
        self, request_id: str, event_id: str, change: StatusChange, *, even_if_current: bool
    ) -> bool:
        """Moves the request to a new status once per case event, in one write with the status
        checked by its filter; False if seen before, already at that status, older than the
        case step last recorded (it overtook a later one on the way), or unknown."""
        expected: Document = {CASE_STEP_AT: {"$not": {"$gt": change.at}}}
        if not even_if_current:
            expected["status"] = {"$ne": change.status.value}
        return await apply_once(
            self._collection,
            document_id=request_id,
            event_id=event_id,
            changes={"status": change.status.value, CASE_STEP_AT: change.at},
            cipher=self._cipher,
            expected=expected,
            appended={"history": self._change(request_id, change)},
        )

    async def attach_document(
        self,
        request_id: str,
        *,
        requirement: str,
        document_id: str,
        seen: Mapping[str, str | None],
        status: RequestStatus,
        outbox: list[CloudEvent],
    ) -> bool:
        """Sets the requirement's document and queues its events, if the status and the
        documents the caller decided on are still as it read them."""
        unchanged = {
            f"documents.{code}": {"$exists": False} if present is None else present
            for code, present in seen.items()
        }
        return await update_document(
            self._collection,
            request_id,
            with_outbox({"$set": {f"documents.{requirement}": document_id}}, outbox, self._cipher),
            expected={"status": status.value, **unchanged},
        )

    def _change(self, request_id: str, change: StatusChange) -> Document:
        """Notes are officers' free text, so they are sealed like personal data."""
        note = change.note
        return {
            "status": change.status.value,
            "at": change.at,
            "documents": list(change.documents),
            "note": None
            if note is None
            else self._cipher.seal_text(note, context=_note(request_id)),
        }


def _note(request_id: str) -> str:
    return f"requests/{request_id}/history"


def _personal(request_id: str) -> str:
    return f"requests/{request_id}/personal"


class TrackingSequence:
    """The requests' sequence numbers, shared by every instance and taken in blocks: a block is
    one atomic raise of the shared counter, so no two instances ever hold the same number."""

    def __init__(
        self, collection: AsyncCollection[Document], *, block: int = SEQUENCE_BLOCK
    ) -> None:
        self._collection = collection
        self._block = block
        self._next = self._end = 0
        self._taking = asyncio.Lock()

    async def next(self) -> int:
        async with self._taking:
            if self._next == self._end:
                self._end = await self._take_block()
                self._next = self._end - self._block
            self._next += 1
            return self._next - 1

    async def _take_block(self) -> int:
        """The end of a block just taken; its numbers are the `block` before it."""
        counter = await upsert_document(
            self._collection, "requests", {"$inc": {"next": self._block, VERSION: 1}}
        )
        return int(counter["next"])
