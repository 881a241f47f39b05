"""Sign-in challenges in MongoDB: one document per phone number, addressed by its keyed hash.

Neither the number nor the code is stored: the code only as a keyed hash, the number only inside
the sealed outbox item that carries the code to notify.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.domain.sign_in import SignInChallenge
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import Document, insert_new, outbox_fields, update_document, with_outbox
from shared.outbox import Outbox

PHONE_PURPOSE = "sign-in-phone"


class MongoSignInRepository:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    def document_id(self, phone: str) -> str:
        return self._cipher.lookup_hash(phone, purpose=PHONE_PURPOSE)

    async def current(self, phone: str) -> tuple[SignInChallenge | None, int]:
        document = await self._collection.find_one({"_id": self.document_id(phone)}, {"outbox": 0})
        if document is None:
            return None, -1
        challenge = SignInChallenge(
            challenge_id=document["challenge_id"],
            code_hash=document["code_hash"],
            expires_at=document["expires_at"],
            wrong_codes=document["wrong_codes"],
            used=document["used"],
            locked_until=document["locked_until"],
            sent_at=tuple(document["sent_at"]),
        )
        return challenge, int(document["version"])

    async def replace(
        self,
        phone: str,
        challenge: SignInChallenge,
        *,
        version: int,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        fields: Document = {
            "challenge_id": challenge.challenge_id,
            "code_hash": challenge.code_hash,
            "expires_at": challenge.expires_at,
            "wrong_codes": challenge.wrong_codes,
            "used": challenge.used,
            "locked_until": challenge.locked_until,
            "sent_at": list(challenge.sent_at),
        }
        document_id = self.document_id(phone)
        if version < 0:
            return await insert_new(
                self._collection,
                {"_id": document_id, **fields, **outbox_fields(outbox, self._cipher)},
            )
        return await update_document(
            self._collection,
            document_id,
            with_outbox({"$set": fields}, outbox, self._cipher),
            expected={"version": version},
        )
