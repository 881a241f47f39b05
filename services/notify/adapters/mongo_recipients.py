"""Who hears about each request, in MongoDB: one document per request, by its id.

The citizen's name and phone are sealed, and so are parked steps, which carry officers' notes.
A step that comes before its request is parked in the same document, with a write that holds only
while the request is still unknown; learning the request reads the parked steps in the same write
that makes it known, so no step is parked after it was read.
"""

from __future__ import annotations

from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.notify.domain.recipients import (
    CASE_STEPS,
    OperatorNotice,
    ParkedStep,
    Recipients,
)
from shared.crypto import Cipher
from shared.events.envelope import Actor
from shared.events.models.values import NotificationChannel
from shared.mongo import Document, retry_write_conflicts, update_document, versioned

STEP_TYPES = {step.event_type: step for step in CASE_STEPS}
UNKNOWN: Document = {"tracking_number": {"$exists": False}}


class MongoRecipientDirectory:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self._collection = collection
        self._cipher = cipher

    async def learn(self, recipients: Recipients) -> list[ParkedStep]:
        request_id = recipients.request_id
        fields = {
            "tracking_number": recipients.tracking_number,
            "service_code": recipients.service_code,
            "channel": recipients.channel.value,
            "contact": self._cipher.seal_json(
                {
                    "name": recipients.name,
                    "phone": recipients.phone,
                    "assisted_contact": recipients.assisted_contact,
                },
                context=_context(request_id),
            ),
            "submitted_by": recipients.submitted_by.model_dump(mode="json"),
        }
        document = await self._upsert({"_id": request_id}, {"$set": fields})
        return [self._parked(request_id, sealed) for sealed in (document or {}).get("parked", [])]

    async def get(self, request_id: str) -> Recipients | None:
        document = await self._collection.find_one({"_id": request_id}, {"parked": 0})
        if document is None or "tracking_number" not in document:
            return None
        contact = self._cipher.open_json(document["contact"], context=_context(request_id))
        return Recipients(
            request_id=request_id,
            tracking_number=document["tracking_number"],
            service_code=document["service_code"],
            name=contact["name"],
            phone=contact["phone"],
            channel=NotificationChannel(document["channel"]),
            submitted_by=Actor.model_validate(document["submitted_by"]),
            assisted_contact=contact["assisted_contact"],
        )

    async def park(self, request_id: str, parked: ParkedStep) -> bool:
        sealed = self._cipher.seal_json(
            {
                "event_id": parked.event_id,
                "type": parked.step.event_type,
                "data": parked.step.model_dump(mode="json"),
            },
            context=_context(request_id),
        )
        try:
            await self._upsert({"_id": request_id, **UNKNOWN}, {"$push": {"parked": sealed}})
        except DuplicateKeyError:
            return False
        return True

    async def forget_parked(self, request_id: str) -> None:
        await update_document(self._collection, request_id, {"$unset": {"parked": ""}})

    async def owe_operator(self, request_id: str, notice: OperatorNotice) -> None:
        owed = {"event_id": notice.event_id, "template": notice.template}
        await update_document(
            self._collection, request_id, {"$addToSet": {"operator_notices": owed}}
        )

    async def _upsert(self, query: Document, update: Document) -> Document | None:
        """Updates the document, creating it if there is none.

        Of two writers creating one document at once, one creates it and the other's insert
        clashes, so it is tried again as an update. A query that still matches nothing then (a
        step parked for a request learnt meanwhile) raises the clash.
        """

        async def write() -> Document | None:
            return await retry_write_conflicts(
                lambda: self._collection.find_one_and_update(
                    query,
                    versioned(update),
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            )

        try:
            return await write()
        except DuplicateKeyError:
            return await write()

    def _parked(self, request_id: str, sealed: str) -> ParkedStep:
        item: dict[str, Any] = self._cipher.open_json(sealed, context=_context(request_id))
        return ParkedStep(
            event_id=item["event_id"], step=STEP_TYPES[item["type"]].model_validate(item["data"])
        )


def _context(request_id: str) -> str:
    return f"recipients/{request_id}"
