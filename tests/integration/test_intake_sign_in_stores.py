"""The sign-in stores' contracts on the MongoDB adapters against the real engine, and the
counters' clean-up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_message_counts import MongoMessageCounts
from services.intake.adapters.mongo_sign_in import MongoSignInRepository
from shared.mongo import Document
from tests.builders import T0, cipher
from tests.contracts.sign_in import MessageCountsContract, SignInRepositoryContract


class TestMongoSignInRepository(SignInRepositoryContract):
    @pytest.fixture
    def sign_ins(self, mongo_db: AsyncDatabase[Document]) -> MongoSignInRepository:
        return MongoSignInRepository(mongo_db["sign_in_codes"], cipher())


class TestMongoMessageCounts(MessageCountsContract):
    @pytest.fixture
    def counts(self, mongo_db: AsyncDatabase[Document]) -> MongoMessageCounts:
        return MongoMessageCounts(mongo_db["message_counts"])


async def test_counters_older_than_an_hour_go_when_a_new_minute_starts(
    mongo_db: AsyncDatabase[Document],
) -> None:
    counts = MongoMessageCounts(mongo_db["message_counts"])
    for minutes in (0, 30, 61):
        await counts.add("sign_in_code", now=T0 + timedelta(minutes=minutes))
        await counts.add("receipt", now=T0)

    kept = sorted(await mongo_db["message_counts"].distinct("_id"))

    assert kept == [
        "receipt:20250303T0130",
        "sign_in_code:20250303T0200",
        "sign_in_code:20250303T0231",
    ]
