"""The storage contracts of chat conversations and provider deliveries, on the in-memory fakes."""

from __future__ import annotations

import pytest

from tests.contracts.conversations import ConversationRepositoryContract, InboundMessagesContract
from tests.fakes_conversations import FakeConversationRepository, FakeInboundMessages


class TestFakeConversationRepository(ConversationRepositoryContract):
    @pytest.fixture
    def conversations(self) -> FakeConversationRepository:
        return FakeConversationRepository()


class TestFakeInboundMessages(InboundMessagesContract):
    @pytest.fixture
    def inbound(self) -> FakeInboundMessages:
        return FakeInboundMessages()
