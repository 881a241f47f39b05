"""The storage contracts, run on the MongoDB adapters against the real FerretDB."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import MongoRequestRepository
from services.intake.domain.open_applications import OpenApplication
from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.processing.adapters.mongo_at_risk import MongoAtRisk
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_queues import MongoQueues
from shared.crypto import Cipher, UnreadableSecret
from shared.mongo import UNPUBLISHED, Document
from tests.builders import (
    MOBILE,
    T0,
    VALID_NIK,
    case,
    case_opened,
    cipher,
    citizen_request,
    notification,
    request_submitted,
    wrapped,
)
from tests.contracts.repositories import (
    AtRiskContract,
    CaseRepositoryContract,
    IdempotencyKeyRepositoryContract,
    NotificationRepositoryContract,
    RequestRepositoryContract,
    WorkQueuesContract,
)


class TestMongoRequestRepository(RequestRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoRequestRepository:
        return MongoRequestRepository(
            mongo_db["requests"],
            mongo_db["tracking_numbers"],
            mongo_db["open_applications"],
            cipher(),
        )


class TestMongoIdempotencyKeys(IdempotencyKeyRepositoryContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoIdempotencyKeys:
        return MongoIdempotencyKeys(mongo_db["idempotency_keys"])


class TestMongoCaseRepository(CaseRepositoryContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoCaseRepository:
        repository = MongoCaseRepository(mongo_db["cases"], cipher())
        await repository.ensure_indexes()
        return repository


class TestMongoAtRisk(AtRiskContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoAtRisk:
        return MongoAtRisk(mongo_db["at_risk"])


class TestMongoQueues(WorkQueuesContract):
    @pytest.fixture
    def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoQueues:
        return MongoQueues(mongo_db["queues"], mongo_db["queue_slots"])


class TestMongoNotificationRepository(NotificationRepositoryContract):
    @pytest.fixture
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoNotificationRepository:
        repository = MongoNotificationRepository(mongo_db["notifications"], cipher())
        await repository.ensure_indexes()
        return repository


PERSONAL = (VALID_NIK, "Siti Aminah", MOBILE, MOBILE.removeprefix("+"))


def in_clear(document: Document) -> list[str]:
    text = repr(document)
    return [value for value in PERSONAL if value in text]


async def test_requests_cases_and_notifications_keep_personal_data_sealed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    requests = MongoRequestRepository(
        mongo_db["requests"], mongo_db["tracking_numbers"], mongo_db["open_applications"], cipher()
    )
    cases = MongoCaseRepository(mongo_db["cases"], cipher())
    notifications = MongoNotificationRepository(mongo_db["notifications"], cipher())
    sent = notification("n-1")
    sent.mark_sent(provider_message_id="wa-1", now=T0)

    await requests.add(citizen_request("req-1"), [wrapped(request_submitted("req-1"))])
    await cases.add(case("req-1"), processed_event_id="evt-1", outbox=[wrapped(case_opened())])
    await notifications.add(notification("n-1"))
    await notifications.save(sent, [wrapped(event) for event in sent.events])

    for name in ("requests", "cases", "notifications"):
        [document] = await mongo_db[name].find().to_list()
        assert document["outbox"], name
        assert document[UNPUBLISHED] is True, name
        assert in_clear(document) == [], name
    held = OpenApplication(request_id="req-1", tracking_number="K7M2Q9XP", held_at=T0)
    await requests.hold_open(VALID_NIK, "KK_BARU", held, replacing=None)
    [hold] = await mongo_db["open_applications"].find().to_list()
    assert in_clear(hold) == []


async def test_stored_personal_data_does_not_open_under_other_keys(
    mongo_db: AsyncDatabase[Document],
) -> None:
    other_keys = Cipher(data_keys=[b"o" * 32], lookup_key=b"l" * 32)
    await MongoCaseRepository(mongo_db["cases"], cipher()).add(
        case("req-1"), processed_event_id="evt-1", outbox=[]
    )

    with pytest.raises(UnreadableSecret):
        await MongoCaseRepository(mongo_db["cases"], other_keys).get("req-1")
