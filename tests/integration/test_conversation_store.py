"""Chat conversations and provider deliveries in MongoDB, on the real FerretDB: the storage
contracts, and nothing the citizen typed stored in clear."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.conversations.mongo import MongoConversationRepository, MongoInboundMessages
from shared.mongo import Document
from tests.builders import T0, cipher, wrapped
from tests.builders import request_submitted as some_event
from tests.contracts.conversations import (
    FILLED,
    PHONE,
    ConversationRepositoryContract,
    InboundMessagesContract,
)


@pytest.fixture
def conversations(mongo_db: AsyncDatabase[Document]) -> MongoConversationRepository:
    return MongoConversationRepository(
        mongo_db["conversations"], mongo_db["conversation_documents"], cipher()
    )


class TestMongoConversationRepository(ConversationRepositoryContract):
    pass


class TestMongoInboundMessages(InboundMessagesContract):
    @pytest.fixture
    def inbound(self, mongo_db: AsyncDatabase[Document]) -> MongoInboundMessages:
        return MongoInboundMessages(mongo_db["inbound_messages"], cipher())

    async def test_a_reply_is_queued_with_the_first_handling_only(
        self, inbound: MongoInboundMessages, mongo_db: AsyncDatabase[Document]
    ) -> None:
        reply = wrapped(some_event())
        await inbound.arrived(provider="sms", message_id="sms-1", now=T0)

        await inbound.handled(provider="sms", message_id="sms-1", now=T0, outbox=[reply])
        await inbound.handled(provider="sms", message_id="sms-1", now=T0, outbox=[reply])

        stored = await mongo_db["inbound_messages"].find_one({"_id": "sms:sms-1"})
        assert stored is not None
        assert [item["id"] for item in stored["outbox"]] == [reply.id]
        assert some_event().applicant.nik not in str(stored["outbox"][0]["payload"])


async def test_nothing_the_citizen_typed_or_sent_is_stored_in_clear(
    conversations: MongoConversationRepository, mongo_db: AsyncDatabase[Document]
) -> None:
    event = wrapped(some_event())
    await conversations.save(PHONE, FILLED, version=-1, handled=["wamid.1"], outbox=[event])
    await conversations.hold_document(PHONE, "BUKU_NIKAH", b"\xff\xd8\xff photo of a marriage book")

    stored = [
        str(document)
        for name in ("conversations", "conversation_documents")
        async for document in mongo_db[name].find({})
    ]

    everything = "".join(stored)
    for secret in ("3516091204800001", "Siti", "Majapahit", "81234567890", "marriage book"):
        assert secret not in everything
    [conversation] = [document async for document in mongo_db["conversations"].find({})]
    assert conversation["_id"] == conversations.document_id(PHONE)
    assert [item["id"] for item in conversation["outbox"]] == [event.id]
    assert conversation["handled"] == ["wamid.1"]


async def test_a_file_as_large_as_a_document_may_be_is_held_whole(
    conversations: MongoConversationRepository,
) -> None:
    largest = max(
        document.max_bytes for service in load_catalogue().all() for document in service.documents
    )
    content = b"%PDF-" + bytes(range(256)) * (largest // 256)
    content = content[:largest]

    await conversations.hold_document(PHONE, "KK", content)

    assert await conversations.held_document(PHONE, "KK") == content
