"""The sign-in store's contract on the MongoDB adapter against the real engine."""

from __future__ import annotations

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.adapters.mongo_sign_in import MongoSignInRepository
from shared.mongo import Document
from tests.builders import cipher
from tests.contracts.sign_in import SignInRepositoryContract


class TestMongoSignInRepository(SignInRepositoryContract):
    @pytest.fixture
    def sign_ins(self, mongo_db: AsyncDatabase[Document]) -> MongoSignInRepository:
        return MongoSignInRepository(mongo_db["sign_in_codes"], cipher())
