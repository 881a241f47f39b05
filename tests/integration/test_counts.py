"""The window counts' contract on the MongoDB adapter against the real engine, their cost, and
the clean-up of ended windows."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.intake.domain.callers import submitter
from services.intake.domain.message_caps import CapReason, MessageCapReached, MessageCapRules
from services.intake.service_layer.message_caps import MESSAGE_CAP_PURPOSE, MessageCaps
from shared.counts import HOUR
from shared.crypto import Cipher
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


async def test_two_instances_keep_to_one_message_cap_and_store_no_phone(
    mongo_db: AsyncDatabase[Document],
) -> None:
    """As two intake processes would: each with its own caps over the one database."""
    cipher = Cipher.from_hex(data_keys="ab" * 32, lookup_key="cd" * 32)
    rules = MessageCapRules(per_phone_day=3, per_minute=1000)
    first, second = (
        MessageCaps.of(
            MongoCounts(mongo_db["counts"]),
            partial(cipher.lookup_hash, purpose=MESSAGE_CAP_PURPOSE),
            rules,
        )
        for _ in range(2)
    )
    stranger = submitter(None)

    await first.admit(stranger, "081234567890", T0)
    await second.admit(stranger, "0812 3456 7890", T0)
    await first.admit(stranger, "+6281234567890", T0)
    with pytest.raises(MessageCapReached) as refused:
        await second.admit(stranger, "081234567890", T0)

    assert refused.value.reason is CapReason.PHONE
    stored = str(await mongo_db["counts"].find({}).to_list())
    assert "81234567890" not in stored
