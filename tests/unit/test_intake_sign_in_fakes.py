"""The sign-in stores' contracts, run on the fakes the unit tests use."""

from __future__ import annotations

import pytest

from tests.contracts.sign_in import MessageCountsContract, SignInRepositoryContract
from tests.fakes import FakeMessageCounts, FakeSignInRepository


class TestFakeSignInRepository(SignInRepositoryContract):
    @pytest.fixture
    def sign_ins(self) -> FakeSignInRepository:
        return FakeSignInRepository()


class TestFakeMessageCounts(MessageCountsContract):
    @pytest.fixture
    def counts(self) -> FakeMessageCounts:
        return FakeMessageCounts()
