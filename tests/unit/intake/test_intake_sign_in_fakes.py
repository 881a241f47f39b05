"""The sign-in store's and the window counts' contracts, run on the fakes the unit tests use."""

from __future__ import annotations

import pytest

from tests.contracts.counts import CountsContract
from tests.contracts.sign_in import SignInRepositoryContract
from tests.fakes import FakeCounts, FakeSignInRepository


class TestFakeSignInRepository(SignInRepositoryContract):
    @pytest.fixture
    def sign_ins(self) -> FakeSignInRepository:
        return FakeSignInRepository()


class TestFakeCounts(CountsContract):
    @pytest.fixture
    def counts(self) -> FakeCounts:
        return FakeCounts()
