"""The scan store's contract, run on the in-memory stand-in the letters API tests rely on."""

from __future__ import annotations

import pytest

from tests.contracts.letter_scans import LetterScansContract
from tests.fakes_letters import FakeLetterScans


class TestFakeLetterScans(LetterScansContract):
    @pytest.fixture
    def scans(self) -> FakeLetterScans:
        return FakeLetterScans()
