"""The window counts' contract on the MongoDB adapter against the real engine, their cost, and
the clean-up of ended windows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.counts import HOUR
from shared.mongo import Document
from shared.mongo_counts import MongoCounts
from tests.builders import T0
from tests.contracts.counts import CountsContract


class TestMongoCounts(CountsContract):
    @pytest.fixture
    async def counts(self, mongo_db: AsyncDatabase[Document]) -> MongoCounts:
        counts = MongoCounts(mongo_db["counts"])
        await counts.ensure_indexes()
        return counts


async def test_ended_windows_go_when_an_instance_counts_in_a_new_minute(
    mongo_db: AsyncDatabase[Document],
) -> None:
    counts = MongoCounts(mongo_db["counts"])
    await counts.add("lookups", "a", now=T0)
    await counts.add("wrong", "K7M2Q9XP", now=T0, window=HOUR)
    await counts.add("lookups", "b", now=T0 + timedelta(seconds=59))

    await counts.add("lookups", "c", now=T0 + timedelta(minutes=1))
    kept = sorted(await mongo_db["counts"].distinct("_id"))

    assert kept == ["lookups|c|20250303T0131", "wrong|K7M2Q9XP|20250303T0100"]
