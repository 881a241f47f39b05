"""The cases at risk of each service point, for its supervisor: one document per service point,
addressed by `_id`, with the cases whose deadline warnings fired. Cases that finished since are
dropped when the list is read. A case's warnings arrive in order (they share its Kafka key), so
the latest one noted is its highest."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.mongo import Document, retry_write_conflicts


class MongoAtRisk:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def note(
        self, service_point: str, request_id: str, due_at: datetime, percent: int
    ) -> None:
        await self._write(
            service_point,
            {
                "$max": {f"cases.{request_id}.percent": percent},
                "$set": {f"cases.{request_id}.due_at": due_at},
            },
        )

    async def listed(self, service_point: str) -> dict[str, tuple[datetime, int]]:
        document = await self._collection.find_one({"_id": service_point})
        if document is None:
            return {}
        return {
            request_id: (entry["due_at"], int(entry["percent"]))
            for request_id, entry in document.get("cases", {}).items()
        }

    async def forget(self, service_point: str, request_ids: Iterable[str]) -> None:
        names = {f"cases.{request_id}": "" for request_id in request_ids}
        if names:
            await self._write(service_point, {"$unset": names})

    async def _write(self, service_point: str, update: Document) -> None:
        versioned = {**update, "$inc": {"version": 1}}
        while True:
            try:
                await retry_write_conflicts(
                    lambda: self._collection.update_one(
                        {"_id": service_point}, versioned, upsert=True
                    )
                )
                return
            except DuplicateKeyError:
                continue
