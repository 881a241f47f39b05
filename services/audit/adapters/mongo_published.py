"""How far the entries topic has been published, one document in audit's database by `_id`."""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from shared.mongo import Document, insert_new, update_document

ENTRIES_TOPIC = "entries_topic"


class MongoPublishedPosition:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def get(self) -> int:
        document = await self._collection.find_one({"_id": ENTRIES_TOPIC})
        if document is None:
            await insert_new(self._collection, {"_id": ENTRIES_TOPIC, "next_index": 0})
            return 0
        next_index: int = document["next_index"]
        return next_index

    async def advance(self, *, from_index: int, to_index: int) -> bool:
        return await update_document(
            self._collection,
            ENTRIES_TOPIC,
            {"$set": {"next_index": to_index}},
            expected={"next_index": from_index},
        )
