"""The storage contracts, run on the MongoDB adapters against the real FerretDB."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_idempotency import MongoIdempotencyKeys
from services.intake.adapters.mongo_requests import SEQUENCE_BLOCK, MongoRequestRepository
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
    async def repository(self, mongo_db: AsyncDatabase[Document]) -> MongoRequestRepository:
        repository = MongoRequestRepository(
            mongo_db["requests"],
            mongo_db["tracking_sequence"],
            mongo_db["open_applications"],
            cipher(),
        )
        await repository.ensure_indexes()
        return repository


def request_store(mongo_db: AsyncDatabase[Document]) -> MongoRequestRepository:
    return MongoRequestRepository(
        mongo_db["requests"], mongo_db["tracking_sequence"], mongo_db["open_applications"], cipher()
    )


async def test_instances_sharing_the_sequence_never_give_one_tracking_number_twice(
    mongo_db: AsyncDatabase[Document],
) -> None:
    instances = [request_store(mongo_db) for _ in range(3)]

    numbers = await asyncio.gather(
        *(instance.new_tracking_number() for instance in instances for _ in range(120))
    )

    assert len(set(numbers)) == 360
    counter = await mongo_db["tracking_sequence"].find_one({"_id": "requests"})
    assert counter is not None
    assert counter["next"] == 3 * 2 * SEQUENCE_BLOCK, "each instance took two blocks, no more"


async def test_a_request_is_found_by_its_tracking_number_through_the_index(
    mongo_db: AsyncDatabase[Document],
) -> None:
    requests = request_store(mongo_db)
    await requests.ensure_indexes()
    numbers = [await requests.new_tracking_number() for _ in range(50)]
    for n, number in enumerate(numbers):
        await requests.add(citizen_request(f"req-{n}", tracking_number=number), [])

    found = await requests.find_by_tracking_number(numbers[7])

    assert found is not None
    assert found.request_id == "req-7"
    plan = await mongo_db.command(
        "explain",
        {
            "find": "requests",
            "filter": {"tracking_number": numbers[7]},
            "projection": {"outbox": 0},
        },
    )
    # MongoDB scans an index (IXSCAN); the local engine, the index's PostgreSQL twin.
    assert "IXSCAN" in str(plan) or "Bitmap Index Scan" in str(plan), plan


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
        mongo_db["requests"], mongo_db["tracking_sequence"], mongo_db["open_applications"], cipher()
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
