"""The local MongoDB engine under concurrent writes, and the update operators the code relies on."""

from __future__ import annotations

import asyncio
import os

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from shared.mongo import Document, insert_new, update_document
from shared.transient import is_write_conflict

CLIENTS = 20
local_engine_only = pytest.mark.skipif(
    bool(os.environ.get("ADMINDUK_TEST_MONGO_URL")),
    reason="checks what devstack adds to FerretDB; MongoDB does the same by itself",
)


async def test_concurrent_updates_of_one_collection_all_apply(
    mongo_db: AsyncDatabase[Document],
) -> None:
    counters = mongo_db["counters"]
    await counters.insert_many([{"_id": n, "count": 0} for n in range(CLIENTS)])

    results = await asyncio.gather(
        *(counters.update_one({"_id": n}, {"$inc": {"count": 1}}) for n in range(CLIENTS))
    )

    assert [result.modified_count for result in results] == [1] * CLIENTS
    assert [doc["count"] async for doc in counters.find().sort("_id")] == [1] * CLIENTS


async def test_concurrent_updates_of_one_document_all_apply(
    mongo_db: AsyncDatabase[Document],
) -> None:
    """The local engine loses such updates unless its version guard turns them into conflicts,
    which `update_document` retries."""
    counters = mongo_db["counters"]
    await insert_new(counters, {"_id": "total", "count": 0})

    results = await asyncio.gather(
        *(update_document(counters, "total", {"$inc": {"count": 1}}) for _ in range(CLIENTS))
    )

    assert results == [True] * CLIENTS
    assert await counters.find_one({"_id": "total"}) == {
        "_id": "total",
        "version": CLIENTS,
        "count": CLIENTS,
    }


@local_engine_only
async def test_a_write_that_does_not_raise_the_version_is_refused_as_a_conflict(
    mongo_db: AsyncDatabase[Document],
) -> None:
    counters = mongo_db["counters"]
    await insert_new(counters, {"_id": "total", "count": 0})

    with pytest.raises(OperationFailure) as refused:
        await counters.update_one({"_id": "total"}, {"$set": {"count": 5}})

    assert is_write_conflict(refused.value)
    assert await counters.find_one({"_id": "total"}) == {"_id": "total", "version": 0, "count": 0}


@pytest.mark.xfail(
    strict=True,
    reason="FerretDB 1.24's $pull removes equal values only and ignores conditions",
)
async def test_a_pull_with_a_condition_removes_the_matching_items(
    mongo_db: AsyncDatabase[Document],
) -> None:
    queue = mongo_db["queue"]
    await queue.insert_one({"_id": "q", "items": [{"n": 1}, {"n": 2}, {"n": 3}]})

    result = await queue.update_one({"_id": "q"}, {"$pull": {"items": {"n": {"$gte": 2}}}})

    assert result.modified_count == 1
    assert await queue.find_one({"_id": "q"}) == {"_id": "q", "items": [{"n": 1}]}


@local_engine_only
async def test_a_lookup_by_id_uses_an_index_rather_than_scanning_the_collection(
    mongo_db: AsyncDatabase[Document],
) -> None:
    await mongo_db["requests"].insert_many([{"_id": f"req-{n}"} for n in range(100)])

    plan = await mongo_db.command("explain", {"find": "requests", "filter": {"_id": "req-7"}})

    text = str(plan["queryPlanner"])
    assert "Index Scan" in text
    assert "Seq Scan" not in text
