from __future__ import annotations

import pytest

from tests.contracts.repositories import (
    AtRiskContract,
    CaseRepositoryContract,
    IdempotencyKeyRepositoryContract,
    NotificationRepositoryContract,
    RequestRepositoryContract,
    WorkQueuesContract,
)
from tests.fakes import (
    FakeAtRisk,
    FakeCaseRepository,
    FakeIdempotencyKeys,
    FakeNotificationRepository,
    FakeQueues,
    FakeRequestRepository,
)


class TestFakeRequestRepository(RequestRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeRequestRepository:
        return FakeRequestRepository()


class TestFakeIdempotencyKeys(IdempotencyKeyRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeIdempotencyKeys:
        return FakeIdempotencyKeys()


class TestFakeCaseRepository(CaseRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeCaseRepository:
        return FakeCaseRepository()


class TestFakeAtRisk(AtRiskContract):
    @pytest.fixture
    def repository(self) -> FakeAtRisk:
        return FakeAtRisk()


class TestFakeQueues(WorkQueuesContract):
    @pytest.fixture
    def repository(self) -> FakeQueues:
        return FakeQueues()


class TestFakeNotificationRepository(NotificationRepositoryContract):
    @pytest.fixture
    def repository(self) -> FakeNotificationRepository:
        return FakeNotificationRepository()
