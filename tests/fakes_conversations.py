"""In-memory stand-ins for the chat channels' ports, behaving like the Mongo adapters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.intake.conversations.domain import Conversation
from services.intake.conversations.ports import (
    MediaTooLarge,
    MediaUnavailable,
    StoredConversation,
)
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class FakeConversationRepository:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.conversations: dict[str, StoredConversation] = {}
        self.held: dict[tuple[str, str], bytes] = {}
        self.outbox: list[CloudEvent] = []

    def document_id(self, phone: str) -> str:
        return f"conversation:{phone}"

    async def load(self, phone: str) -> StoredConversation:
        return self.conversations.get(phone, StoredConversation(conversation=None, version=-1))

    async def save(
        self,
        phone: str,
        conversation: Conversation,
        *,
        version: int,
        handled: Sequence[str],
        outbox: Sequence[CloudEvent],
    ) -> bool:
        current = await self.load(phone)
        if current.version != version:
            return False
        self.conversations[phone] = StoredConversation(
            conversation=conversation, version=version + 1, handled=tuple(handled)
        )
        self.outbox.extend(outbox)
        return True

    async def hold_document(self, phone: str, requirement: str, content: bytes) -> None:
        self.held[(phone, requirement)] = content

    async def held_document(self, phone: str, requirement: str) -> bytes | None:
        return self.held.get((phone, requirement))

    async def drop_documents(self, phone: str, requirements: Sequence[str]) -> None:
        for requirement in requirements:
            self.held.pop((phone, requirement), None)


class FakeInboundMessages:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.handled_at: dict[str, datetime | None] = {}
        self.outbox: list[CloudEvent] = []

    async def arrived(self, *, provider: str, message_id: str, now: datetime) -> bool:
        key = f"{provider}:{message_id}"
        self.handled_at.setdefault(key, None)
        return self.handled_at[key] is None

    async def handled(
        self,
        *,
        provider: str,
        message_id: str,
        now: datetime,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        key = f"{provider}:{message_id}"
        if self.handled_at.get(key) is not None:
            return False
        self.handled_at[key] = now
        self.outbox.extend(outbox)
        return True


class FakeMediaSource:
    """Serves the files it was given by media id; any other id is unavailable."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fetched: list[str] = []

    async def fetch(self, media_id: str, *, max_bytes: int) -> bytes:
        self.fetched.append(media_id)
        if media_id not in self.files:
            raise MediaUnavailable(f"no media {media_id}")
        content = self.files[media_id]
        if len(content) > max_bytes:
            raise MediaTooLarge(f"{len(content)} bytes")
        return content
