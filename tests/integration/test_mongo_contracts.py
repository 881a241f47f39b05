"""The storage contracts, run on the MongoDB adapters against the real FerretDB."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.audit.adapters.mongo_log import MongoAuditLog
from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.processing.adapters.mongo_cases import MongoCaseRepository
from shared.mongo import Document
from tests.contracts.repositories import (
    AuditLogContract,
    CaseRepositoryContract,
    IdempotencyKeyRepositoryContract,
    NotificationRepositoryContract,
    RequestRepositoryContract,
)


class TestMongoRequestRepository(RequestRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoRequestRepository:
        return MongoRequestRepository(mongo_db["requests"])


class TestMongoIdempotencyKeys(IdempotencyKeyRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoIdempotencyKeys:
        return MongoIdempotencyKeys(mongo_db["idempotency_keys"])


class TestMongoCaseRepository(CaseRepositoryContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoCaseRepository:
        repository = MongoCaseRepository(mongo_db["cases"])
        await repository.ensure_indexes()
        return repository


class TestMongoNotificationRepository(NotificationRepositoryContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoNotificationRepository:
        repository = MongoNotificationRepository(mongo_db["notifications"])
        await repository.ensure_indexes()
        return repository


class TestMongoAuditLog(AuditLogContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoAuditLog:
        repository = MongoAuditLog(mongo_db["log"])
        await repository.ensure_indexes()
        return repository
