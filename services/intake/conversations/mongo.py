"""Chat conversations and the messages providers delivered, in MongoDB.

Conversations: one document per phone number, addressed by its keyed hash. The number itself is
never stored in clear: the document's `_id` is a keyed hash of it, and what the citizen typed
(NIK, name, answers) is sealed. The document also lists the ids of the latest messages it took
and carries its own outbox of replies, so a step, the message that caused it and its reply are
one write. Files a conversation received wait, sealed, in `conversation_documents` (one document
per phone and requirement, by `_id`) until the request is submitted; they are kept apart because
a file can be as large as several conversations.

Inbound messages: one small document per message a provider (WhatsApp, SMS) delivered. Providers
deliver a message again whenever they are not sure it arrived (a webhook answered late or not at
all), so each delivery is recorded by `_id` `{provider}:{message id}` when it arrives and marked
once its step is stored; a redelivery of a handled message is then recognised with one lookup by
`_id`. Provider message ids are not personal data; a channel without a conversation document of
its own (SMS) queues its reply here, sealed, until the relay has published it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.intake.conversations.domain import Conversation, HeldDocument, Step
from services.intake.conversations.ports import StoredConversation
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import Document, insert_new, outbox_fields, update_document, with_outbox
from shared.outbox import Outbox

PHONE_PURPOSE = "conversation-phone"


class MongoConversationRepository:
    def __init__(
        self,
        conversations: AsyncCollection[Document],
        documents: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self.outgoing = Outbox()
        self._conversations = conversations
        self._documents = documents
        self._cipher = cipher

    def document_id(self, phone: str) -> str:
        return self._cipher.lookup_hash(phone, purpose=PHONE_PURPOSE)

    async def load(self, phone: str) -> StoredConversation:
        document_id = self.document_id(phone)
        document = await self._conversations.find_one({"_id": document_id}, {"outbox": 0})
        if document is None:
            return StoredConversation(conversation=None, version=-1)
        state = self._cipher.open_json(document["state"], context=_state_context(document_id))
        return StoredConversation(
            conversation=_conversation(state, document),
            version=int(document["version"]),
            handled=tuple(document["handled"]),
        )

    async def save(
        self,
        phone: str,
        conversation: Conversation,
        *,
        version: int,
        handled: Sequence[str],
        outbox: Sequence[CloudEvent],
    ) -> bool:
        document_id = self.document_id(phone)
        state = self._cipher.seal_json(_state(conversation), context=_state_context(document_id))
        fields: Document = {
            "state": state,
            "step": conversation.step.value,
            "last_active": conversation.last_active,
            "handled": list(handled),
        }
        if version < 0:
            return await insert_new(
                self._conversations,
                {"_id": document_id, **fields, **outbox_fields(outbox, self._cipher)},
            )
        return await update_document(
            self._conversations,
            document_id,
            with_outbox({"$set": fields}, outbox, self._cipher),
            expected={"version": version},
        )

    async def hold_document(self, phone: str, requirement: str, content: bytes) -> None:
        """Written whole or not at all: one insert, after the one it replaces is removed."""
        held_id = self._held_id(phone, requirement)
        await self._documents.delete_one({"_id": held_id})
        sealed = self._cipher.seal(content, context=_held_context(held_id))
        await insert_new(self._documents, {"_id": held_id, "content": sealed})

    async def held_document(self, phone: str, requirement: str) -> bytes | None:
        held_id = self._held_id(phone, requirement)
        document = await self._documents.find_one({"_id": held_id})
        if document is None:
            return None
        return self._cipher.open(document["content"], context=_held_context(held_id))

    async def drop_documents(self, phone: str, requirements: Sequence[str]) -> None:
        for requirement in requirements:
            await self._documents.delete_one({"_id": self._held_id(phone, requirement)})

    def _held_id(self, phone: str, requirement: str) -> str:
        return f"{self.document_id(phone)}:{requirement}"


def _state(conversation: Conversation) -> dict[str, Any]:
    return {
        "step": conversation.step.value,
        "service_code": conversation.service_code,
        "nik": conversation.nik,
        "name": conversation.name,
        "answers": dict(conversation.answers),
        "position": conversation.position,
        "documents": {
            code: {
                "media_type": held.media_type,
                "size_bytes": held.size_bytes,
                "sha256": held.sha256,
            }
            for code, held in conversation.documents.items()
        },
    }


def _conversation(state: dict[str, Any], document: Document) -> Conversation:
    return Conversation(
        step=Step(state["step"]),
        last_active=document["last_active"],
        service_code=state["service_code"],
        nik=state["nik"],
        name=state["name"],
        answers=dict(state["answers"]),
        position=int(state["position"]),
        documents={code: HeldDocument(**held) for code, held in state["documents"].items()},
    )


def _state_context(document_id: str) -> str:
    return f"conversations/{document_id}"


def _held_context(held_id: str) -> str:
    return f"conversation_documents/{held_id}"


class MongoInboundMessages:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    async def arrived(self, *, provider: str, message_id: str, now: datetime) -> bool:
        """A message recorded before but never marked handled (its handler died midway) is
        handed out again: the conversation itself knows whether it took the step."""
        key = _key(provider, message_id)
        document = {"_id": key, "provider": provider, "arrived_at": now, "handled_at": None}
        if await insert_new(self._collection, document):
            return True
        existing = await self._collection.find_one({"_id": key}, {"handled_at": 1})
        return existing is None or existing["handled_at"] is None

    async def handled(
        self,
        *,
        provider: str,
        message_id: str,
        now: datetime,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        """Marks the message handled, queueing `outbox` (a reply) in the same write, so that a
        message handled twice over a crash is answered once."""
        update: Document = {"$set": {"handled_at": now}}
        if outbox:
            update = with_outbox(update, outbox, self._cipher)
        return await update_document(
            self._collection, _key(provider, message_id), update, expected={"handled_at": None}
        )


def _key(provider: str, message_id: str) -> str:
    return f"{provider}:{message_id}"
