from __future__ import annotations

import pytest

from tests.contracts.audit import CheckpointStoreContract, LogEntriesContract, TreeNodesContract
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes


class TestFakeLogEntries(LogEntriesContract):
    @pytest.fixture
    def repository(self) -> FakeLogEntries:
        return FakeLogEntries()


class TestFakeTreeNodes(TreeNodesContract):
    @pytest.fixture
    def repository(self) -> FakeTreeNodes:
        return FakeTreeNodes()


class TestFakeCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def repository(self) -> FakeCheckpoints:
        return FakeCheckpoints()
