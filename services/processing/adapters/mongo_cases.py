"""Processing's cases in MongoDB; each records the events it applied and carries its outbox."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.processing.domain.case import Case, CaseState
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.events.models import Applicant
from shared.mongo import Document, insert_applied


class MongoCaseRepository:
    """The applicant's personal data is stored sealed."""

    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self._collection = collection
        self._cipher = cipher

    async def ensure_indexes(self) -> None:
        """An event that opened one case can open no other."""
        await self._collection.create_index([("processed_events", ASCENDING)], unique=True)

    async def add(self, case: Case, *, processed_event_id: str, outbox: list[CloudEvent]) -> bool:
        document = {
            "_id": case.request_id,
            "service_code": case.service_code,
            "applicant": self._cipher.seal_json(
                case.applicant.model_dump(mode="json"), context=_applicant(case.request_id)
            ),
            "state": case.state.value,
            "opened_at": case.opened_at,
        }
        return await insert_applied(
            self._collection,
            document,
            event_id=processed_event_id,
            cipher=self._cipher,
            outbox=outbox,
        )

    async def get(self, request_id: str) -> Case | None:
        document = await self._collection.find_one({"_id": request_id}, {"outbox": 0})
        if document is None:
            return None
        return Case(
            request_id=document["_id"],
            service_code=document["service_code"],
            applicant=Applicant.model_validate(
                self._cipher.open_json(document["applicant"], context=_applicant(document["_id"]))
            ),
            state=CaseState(document["state"]),
            opened_at=document["opened_at"],
        )


def _applicant(request_id: str) -> str:
    return f"cases/{request_id}/applicant"
