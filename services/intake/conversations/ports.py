"""The edges the conversation use cases talk to; the Mongo adapters, the WhatsApp media client
and the test fakes implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.intake.conversations.domain import Conversation
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


@dataclass(frozen=True)
class StoredConversation:
    """A phone's conversation as stored, the version to expect when saving it (-1: none yet),
    and the ids of the latest messages it took."""

    conversation: Conversation | None
    version: int
    handled: tuple[str, ...] = ()


class ConversationRepository(Protocol):
    outgoing: Outbox

    def document_id(self, phone: str) -> str:
        """Where the phone's conversation is stored: never the number itself."""
        ...

    async def load(self, phone: str) -> StoredConversation:
        """The phone's conversation, or none at version -1."""
        ...

    async def save(
        self,
        phone: str,
        conversation: Conversation,
        *,
        version: int,
        handled: Sequence[str],
        outbox: Sequence[CloudEvent],
    ) -> bool:
        """Stores the conversation, the ids of the latest messages it took (this one last) and
        its replies in one write, if the stored one is still at `version`; False if it changed."""
        ...

    async def hold_document(self, phone: str, requirement: str, content: bytes) -> None:
        """Keeps a file the conversation received, until the request is submitted; replaces one
        held for the same requirement."""
        ...

    async def held_document(self, phone: str, requirement: str) -> bytes | None:
        """A held file's bytes; None if there is none."""
        ...

    async def drop_documents(self, phone: str, requirements: Sequence[str]) -> None:
        """Forgets held files; missing ones change nothing."""
        ...


class InboundMessages(Protocol):
    outgoing: Outbox

    """Which messages a provider (WhatsApp, SMS) delivered, so a redelivery changes nothing."""

    async def arrived(self, *, provider: str, message_id: str, now: datetime) -> bool:
        """Records a delivery; False if the message was handled before."""
        ...

    async def handled(
        self,
        *,
        provider: str,
        message_id: str,
        now: datetime,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        """Records that the message's step is taken, with its reply when the channel keeps no
        conversation of its own; a message handled before (by another instance that took the
        same delivery at once) is left as it is, and False says `outbox` was not stored."""
        ...


class MediaUnavailable(Exception):
    """A citizen's photo or file could not be fetched from the provider; trying again may help."""


class MediaTooLarge(MediaUnavailable):
    """The file is larger than the document it is sent for may be."""


MEDIA_ID_PATTERN = r"^[0-9A-Za-z_.-]{1,128}$"
"""A provider's media id as the webhook admits it and a `MediaSource` fetches it."""


class MediaSource(Protocol):
    async def fetch(self, media_id: str, *, max_bytes: int) -> bytes:
        """The bytes of a photo or file a citizen sent; MediaTooLarge past `max_bytes`,
        MediaUnavailable when the provider does not give it."""
        ...
