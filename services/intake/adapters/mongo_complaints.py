"""Complaints in MongoDB: one document each, `_id` its complaint number, with its own outbox.

The citizen's words and phone number are sealed: a complaint about an officer may name people.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.domain.complaints import Complaint
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import Document, insert_new, outbox_fields
from shared.outbox import Outbox


class MongoComplaintRepository:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        number = complaint.complaint_number
        personal = {"description": complaint.description, "phone": complaint.phone}
        return await insert_new(
            self._collection,
            {
                "_id": number,
                "complaint_id": complaint.complaint_id,
                "category": complaint.category.value,
                "request_id": complaint.request_id,
                "anonymous": complaint.anonymous,
                "personal": self._cipher.seal_json(personal, context=f"complaints/{number}"),
                "filed_by": complaint.filed_by.model_dump(mode="json"),
                "filed_at": complaint.filed_at,
                **outbox_fields(outbox, self._cipher),
            },
        )
