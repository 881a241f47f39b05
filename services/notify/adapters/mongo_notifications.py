"""Notify's notification records in MongoDB, each with its own outbox."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.domain.notification import Notification, NotificationStatus
from shared.events.envelope import CloudEvent
from shared.events.models import NotificationChannel
from shared.mongo import Document, insert_new, outbox_entry, update_document


class MongoNotificationRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])

    async def add(self, notification: Notification) -> bool:
        return await insert_new(
            self._collection,
            {"_id": notification.notification_id, **_fields(notification), "outbox": []},
        )

    async def get(self, notification_id: str) -> Notification | None:
        document = await self._collection.find_one({"_id": notification_id}, {"outbox": 0})
        return None if document is None else _notification(document)

    async def due(self, now: datetime, limit: int) -> list[Notification]:
        cursor = self._collection.find(
            {"status": NotificationStatus.PENDING.value, "next_attempt_at": {"$lte": now}},
            {"outbox": 0},
            sort=[("next_attempt_at", ASCENDING)],
            limit=limit,
        )
        return [_notification(document) async for document in cursor]

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> None:
        await update_document(
            self._collection,
            notification.notification_id,
            {
                "$set": _fields(notification),
                "$push": {"outbox": {"$each": [outbox_entry(event) for event in outbox]}},
            },
        )


def _fields(notification: Notification) -> Document:
    return {
        "request_id": notification.request_id,
        "channel": notification.channel.value,
        "recipient": notification.recipient,
        "template": notification.template,
        "text": notification.text,
        "status": notification.status.value,
        "attempts": notification.attempts,
        "next_attempt_at": notification.next_attempt_at,
        "last_error": notification.last_error,
        "provider_message_id": notification.provider_message_id,
    }


def _notification(document: Document) -> Notification:
    return Notification(
        notification_id=document["_id"],
        request_id=document["request_id"],
        channel=NotificationChannel(document["channel"]),
        recipient=document["recipient"],
        template=document["template"],
        text=document["text"],
        status=NotificationStatus(document["status"]),
        attempts=document["attempts"],
        next_attempt_at=document["next_attempt_at"],
        last_error=document["last_error"],
        provider_message_id=document["provider_message_id"],
    )
