"""Which messages the chat providers (WhatsApp, SMS) delivered: one small document per message.

Providers deliver a message again whenever they are not sure it arrived (a webhook answered late
or not at all), so each delivery is recorded by `_id` `{provider}:{message id}` when it arrives
and marked once its step is stored; a redelivery of a handled message is then recognised with one
lookup by `_id`. Provider message ids are not personal data; a channel without a conversation
document of its own (SMS) queues its reply here, sealed, until the relay has published it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import Document, insert_new, update_document, with_outbox
from shared.outbox import Outbox


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
