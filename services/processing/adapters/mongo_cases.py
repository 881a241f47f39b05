"""Processing's cases in MongoDB; each records the events it applied and carries its outbox.

The applicant's personal data is stored sealed. Every change of the case is a conditional
update on the revision it was read at, so of two officers acting on one case at once exactly one
wins. The revision is the case's own: the outbox relay's writes (which raise `version`) leave it.
"""

from __future__ import annotations

from datetime import timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.processing.domain.case import Case, CaseState, Claim, Step
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.events.models.requests import Applicant
from shared.identity import Role
from shared.mongo import Document, insert_applied, update_document, with_outbox
from shared.outbox import Outbox


class MongoCaseRepository:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self._collection = collection
        self._cipher = cipher
        self.outgoing = Outbox()

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
            "service_point": case.service_point,
            "opened_at": case.opened_at,
            "submitted_at": case.submitted_at,
            "channel": case.channel,
            "revision": 0,
            **_changing(case),
        }
        return await insert_applied(
            self._collection,
            document,
            event_id=processed_event_id,
            cipher=self._cipher,
            outbox=outbox,
        )

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        """The case and the revision it was read at."""
        document = await self._collection.find_one(
            {"_id": request_id}, {"outbox": 0, "processed_events": 0}
        )
        if document is None:
            return None
        claim = document["claim"]
        paused = document["paused_remaining_s"]
        case = Case(
            request_id=document["_id"],
            service_code=document["service_code"],
            applicant=Applicant.model_validate(
                self._cipher.open_json(document["applicant"], context=_applicant(document["_id"]))
            ),
            service_point=document["service_point"],
            state=CaseState(document["state"]),
            opened_at=document["opened_at"],
            due_at=document["due_at"],
            verified=document["verified"],
            claim=None
            if claim is None
            else Claim(officer=claim["officer"], role=Role(claim["role"]), since=claim["since"]),
            paused_remaining=None if paused is None else timedelta(seconds=paused),
            completed_on_time=document["completed_on_time"],
            deadline_marks=set(document["deadline_marks"]),
            # Cases opened before documents were tracked have neither field: nothing missing.
            missing_documents=set(document.get("missing_documents", [])),
            documents=dict(document.get("documents", {})),
            # Cases opened before their steps were kept have none of these three.
            submitted_at=document.get("submitted_at"),
            channel=document.get("channel"),
            steps=[Step(**step) for step in document.get("steps", [])],
        )
        return case, int(document["revision"])

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        """Stores the case's changes and events if it is still at `revision`."""
        return await update_document(
            self._collection,
            case.request_id,
            with_outbox({"$set": _changing(case), "$inc": {"revision": 1}}, outbox, self._cipher),
            expected={"revision": revision},
        )

    async def note_document(
        self, request_id: str, requirement: str, document_id: str, replaces: str | None
    ) -> bool | None:
        """The rule of `Case.note_document` as the write's condition: the requirement holds no
        document yet, or the one this replaces. The revision is raised, as by any change, so
        an officer's step based on the case read before fails and is judged anew."""
        held = f"documents.{requirement}"
        expected: list[Document] = [{held: {"$exists": False}}]
        if replaces is not None:
            expected.append({held: replaces})
        if await update_document(
            self._collection,
            request_id,
            {
                "$set": {held: document_id},
                "$pullAll": {"missing_documents": [requirement]},
                "$inc": {"revision": 1},
            },
            expected={"$or": expected},
        ):
            return True
        found = await self._collection.find_one({"_id": request_id}, {"_id": 1})
        return None if found is None else False


def _changing(case: Case) -> Document:
    claim = case.claim
    return {
        "state": case.state.value,
        "due_at": case.due_at,
        "verified": case.verified,
        "claim": None
        if claim is None
        else {"officer": claim.officer, "role": claim.role.value, "since": claim.since},
        "paused_remaining_s": None
        if case.paused_remaining is None
        else case.paused_remaining.total_seconds(),
        "completed_on_time": case.completed_on_time,
        "deadline_marks": sorted(case.deadline_marks),
        "missing_documents": sorted(case.missing_documents),
        "documents": case.documents,
        "steps": [{"kind": step.kind, "state": step.state, "at": step.at} for step in case.steps],
    }


def _applicant(request_id: str) -> str:
    return f"cases/{request_id}/applicant"
