"""Intake's request documents in MongoDB, each carrying its own outbox of events to publish."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from shared.events.envelope import CloudEvent
from shared.events.models import Applicant
from shared.mongo import Document, insert_new, outbox_entry


class MongoRequestRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        document = {
            "_id": request.request_id,
            "service_code": request.service_code,
            "applicant": request.applicant.model_dump(mode="json"),
            "status": request.status.value,
            "submitted_at": request.submitted_at,
            "form_digest": request.form_digest,
            "outbox": [outbox_entry(event) for event in outbox],
        }
        return await insert_new(self._collection, document)

    async def get(self, request_id: str) -> CitizenRequest | None:
        document = await self._collection.find_one({"_id": request_id}, {"outbox": 0})
        if document is None:
            return None
        return CitizenRequest(
            request_id=document["_id"],
            service_code=document["service_code"],
            applicant=Applicant.model_validate(document["applicant"]),
            status=RequestStatus(document["status"]),
            submitted_at=document["submitted_at"],
            form_digest=document["form_digest"],
        )
