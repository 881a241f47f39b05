"""The document contracts, run on the in-memory stand-ins the use-case tests rely on."""

from __future__ import annotations

import pytest

from tests.contracts.documents import DocumentStoreContract, RequestDocumentsContract
from tests.fakes import FakeDocumentStore, FakeRequestRepository


class TestFakeDocumentStore(DocumentStoreContract):
    @pytest.fixture
    def store(self) -> FakeDocumentStore:
        return FakeDocumentStore()


class TestFakeRequestDocuments(RequestDocumentsContract):
    @pytest.fixture
    def repository(self) -> FakeRequestRepository:
        return FakeRequestRepository()
