"""What every store of chat conversations and provider deliveries must do, fake or MongoDB.

Each class is abstract: a subclass named `Test…` provides a function-scoped fixture holding an
empty store (`conversations` or `inbound`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.intake.conversations.domain import Conversation, HeldDocument, Step
from services.intake.conversations.ports import ConversationRepository, InboundMessages
from tests.builders import T0, wrapped
from tests.builders import request_submitted as some_event

PHONE = "+6281234567890"
FILLED = Conversation(
    step=Step.DOCUMENT,
    last_active=T0,
    service_code="KK_BARU",
    nik="3516091204800001",
    name="Siti Aminah",
    answers={"reason": "MENIKAH", "address": "Jl. Majapahit 12"},
    position=0,
    documents={"BUKU_NIKAH": HeldDocument("image/jpeg", 2048, "ab" * 32)},
)


class ConversationRepositoryContract:
    async def test_a_new_phone_has_no_conversation(
        self, conversations: ConversationRepository
    ) -> None:
        stored = await conversations.load(PHONE)

        assert stored.conversation is None
        assert stored.version == -1
        assert stored.handled == ()

    async def test_a_saved_conversation_loads_as_it_was_saved(
        self, conversations: ConversationRepository
    ) -> None:
        assert await conversations.save(
            PHONE, FILLED, version=-1, handled=["m1"], outbox=[wrapped(some_event())]
        )

        stored = await conversations.load(PHONE)

        assert stored.conversation == FILLED
        assert stored.handled == ("m1",)
        assert stored.version >= 0

    async def test_a_save_at_a_stale_version_changes_nothing(
        self, conversations: ConversationRepository
    ) -> None:
        await conversations.save(PHONE, FILLED, version=-1, handled=["m1"], outbox=[])
        first = await conversations.load(PHONE)
        later = Conversation(step=Step.IDLE, last_active=T0 + timedelta(minutes=1))
        assert await conversations.save(
            PHONE, later, version=first.version, handled=["m1", "m2"], outbox=[]
        )

        stale = await conversations.save(
            PHONE, FILLED, version=first.version, handled=["m1", "m3"], outbox=[]
        )
        again = await conversations.save(PHONE, FILLED, version=-1, handled=["m3"], outbox=[])

        assert not stale
        assert not again
        stored = await conversations.load(PHONE)
        assert stored.conversation == later
        assert stored.handled == ("m1", "m2")

    async def test_of_two_concurrent_saves_at_one_version_exactly_one_applies(
        self, conversations: ConversationRepository
    ) -> None:
        await conversations.save(PHONE, FILLED, version=-1, handled=["m1"], outbox=[])
        version = (await conversations.load(PHONE)).version
        steps = [
            Conversation(step=Step.IDLE, last_active=T0 + timedelta(minutes=minute))
            for minute in (1, 2)
        ]

        results = await asyncio.gather(
            *(
                conversations.save(PHONE, step, version=version, handled=["m1", f"m{n}"], outbox=[])
                for n, step in enumerate(steps, start=2)
            )
        )

        assert sorted(results) == [False, True]
        stored = await conversations.load(PHONE)
        assert stored.conversation == steps[results.index(True)]

    async def test_each_phone_has_its_own_conversation_and_files(
        self, conversations: ConversationRepository
    ) -> None:
        other = "+6285700000001"
        await conversations.save(PHONE, FILLED, version=-1, handled=["m1"], outbox=[])
        await conversations.hold_document(PHONE, "BUKU_NIKAH", b"mine")

        assert (await conversations.load(other)).conversation is None
        assert await conversations.held_document(other, "BUKU_NIKAH") is None
        assert conversations.document_id(PHONE) != conversations.document_id(other)

    async def test_a_held_file_is_read_back_replaced_and_dropped(
        self, conversations: ConversationRepository
    ) -> None:
        await conversations.hold_document(PHONE, "BUKU_NIKAH", b"\xff\xd8\xff first")
        await conversations.hold_document(PHONE, "KK", b"%PDF- other")
        await conversations.hold_document(PHONE, "BUKU_NIKAH", b"\xff\xd8\xff second")

        assert await conversations.held_document(PHONE, "BUKU_NIKAH") == b"\xff\xd8\xff second"

        await conversations.drop_documents(PHONE, ["BUKU_NIKAH", "NEVER_HELD"])

        assert await conversations.held_document(PHONE, "BUKU_NIKAH") is None
        assert await conversations.held_document(PHONE, "KK") == b"%PDF- other"


class InboundMessagesContract:
    async def test_a_first_delivery_is_to_be_handled(self, inbound: InboundMessages) -> None:
        assert await inbound.arrived(provider="whatsapp", message_id="wamid.1", now=T0)

    async def test_a_delivery_of_a_handled_message_is_not(self, inbound: InboundMessages) -> None:
        await inbound.arrived(provider="whatsapp", message_id="wamid.1", now=T0)
        await inbound.handled(provider="whatsapp", message_id="wamid.1", now=T0)

        assert not await inbound.arrived(provider="whatsapp", message_id="wamid.1", now=T0)

    async def test_of_two_marks_of_one_message_only_the_first_says_it_stored(
        self, inbound: InboundMessages
    ) -> None:
        """Two instances that took one delivery at once: only the first may send its reply."""
        await inbound.arrived(provider="sms", message_id="sms-1", now=T0)

        first = await inbound.handled(provider="sms", message_id="sms-1", now=T0)
        second = await inbound.handled(provider="sms", message_id="sms-1", now=T0)

        assert (first, second) == (True, False)

    async def test_a_message_never_marked_handled_is_handed_out_again(
        self, inbound: InboundMessages
    ) -> None:
        await inbound.arrived(provider="whatsapp", message_id="wamid.1", now=T0)

        assert await inbound.arrived(provider="whatsapp", message_id="wamid.1", now=T0)

    async def test_providers_do_not_share_message_ids(self, inbound: InboundMessages) -> None:
        await inbound.arrived(provider="whatsapp", message_id="42", now=T0)
        await inbound.handled(provider="whatsapp", message_id="42", now=T0)

        assert await inbound.arrived(provider="sms", message_id="42", now=T0)
