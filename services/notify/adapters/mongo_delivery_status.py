"""Delivery statuses and the reads of each request's message history, in MongoDB, every lookup
by `_id`.

- `delivery_statuses`: one document per provider message (`{channel}:{provider message id}`),
  the statuses seen with their times, and its outbox.
- `delivery_status_keys`: one per idempotency key a provider echoed, listing the provider
  messages reported under it, written before the status itself, so a status is found by key
  even if notify never stored the provider's id.
- `history_reads`: one per request whose message history staff read, holding the outbox of
  those reads. The history itself is the notifications about the request, found by an index.

Nothing here is personal data: ids, statuses, times, and providers' error codes and titles.
"""

from __future__ import annotations

import asyncio

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.notify.domain.delivery_status import PROGRESS, DeliveryRecord, SeenStatus, record_id
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.mongo import (
    Document,
    insert_new,
    outbox_fields,
    retry_write_conflicts,
    update_document,
    versioned,
    with_outbox,
)
from shared.outbox import Outbox


class MongoDeliveryStatusStore:
    def __init__(
        self,
        records: AsyncCollection[Document],
        keys: AsyncCollection[Document],
        cipher: Cipher,
    ) -> None:
        self.outgoing = Outbox()
        self._records = records
        self._keys = keys
        self._cipher = cipher

    async def get(
        self, channel: DeliveryChannel, provider_message_id: str
    ) -> DeliveryRecord | None:
        document = await self._records.find_one(
            {"_id": record_id(channel, provider_message_id)}, {"outbox": 0}
        )
        return None if document is None else _record(document)

    async def save(self, record: DeliveryRecord, outbox: list[CloudEvent]) -> bool:
        if record.idempotency_key is not None:
            await _upsert(
                self._keys,
                record.idempotency_key,
                {"$addToSet": {"records": record.record_id}},
            )
        if record.version is None:
            return await insert_new(
                self._records,
                {"_id": record.record_id, **_fields(record), **outbox_fields(outbox, self._cipher)},
            )
        return await update_document(
            self._records,
            record.record_id,
            with_outbox({"$set": _fields(record)}, outbox, self._cipher),
            expected={"version": record.version},
        )

    async def status_for_key(self, idempotency_key: str) -> DeliveryRecord | None:
        document = await self._keys.find_one({"_id": idempotency_key})
        if document is None:
            return None
        found = await asyncio.gather(
            *(
                self._records.find_one({"_id": reported}, {"outbox": 0})
                for reported in document["records"]
            )
        )
        records = [_record(item) for item in found if item is not None]
        return max(records, key=_progress, default=None)


class MongoHistoryReads:
    """One document per request by `_id`, with the outbox of the staff reads of its history."""

    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    async def record_read(self, about: str, outbox: list[CloudEvent]) -> None:
        await _upsert(self._collection, about, with_outbox({}, outbox, self._cipher))


async def _upsert(collection: AsyncCollection[Document], key: str, update: Document) -> None:
    """Of two writers creating one document at once, the one whose insert clashes updates."""

    async def write() -> None:
        await retry_write_conflicts(
            lambda: collection.update_one({"_id": key}, versioned(update), upsert=True)
        )

    try:
        await write()
    except DuplicateKeyError:
        await write()


def _fields(record: DeliveryRecord) -> Document:
    return {
        "channel": record.channel.value,
        "provider_message_id": record.provider_message_id,
        "idempotency_key": record.idempotency_key,
        "notification_id": record.notification_id,
        "about": record.about,
        "seen": {
            seen.status.value: {
                "at": seen.at,
                "error_code": seen.error_code,
                "error_reason": seen.error_reason,
            }
            for seen in record.seen.values()
        },
    }


def _record(document: Document) -> DeliveryRecord:
    return DeliveryRecord(
        channel=DeliveryChannel(document["channel"]),
        provider_message_id=document["provider_message_id"],
        seen={
            DeliveryStatus(status): SeenStatus(
                status=DeliveryStatus(status),
                at=item["at"],
                error_code=item["error_code"],
                error_reason=item["error_reason"],
            )
            for status, item in document["seen"].items()
        },
        idempotency_key=document["idempotency_key"],
        notification_id=document["notification_id"],
        about=document["about"],
        version=document["version"],
    )


def _progress(record: DeliveryRecord) -> int:
    return -1 if record.status is None else PROGRESS[record.status]
