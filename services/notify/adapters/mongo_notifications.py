"""Notify's notification records in MongoDB, each with its own outbox.

Documents of the shape before routes (no `fallbacks`, `tried`) are not read: none were deployed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.notify.domain.notification import (
    UNSETTLED,
    ApprovedTemplate,
    Leg,
    Notification,
    NotificationStatus,
)
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.events.models.notifications import ChannelTried
from shared.events.models.values import DeliveryChannel
from shared.mongo import VERSION, Document, insert_new, outbox_fields, update_document, with_outbox
from shared.outbox import Outbox

UNSETTLED_FIELD = "unsettled"
ABOUT_INDEX = "about_created_at"
"""Named, and short: the local engine keeps only the start of a long name in its PostgreSQL index,
the one its query plans show."""


class MongoNotificationRepository:
    """Recipients, texts, subjects, template parameters and the fallback channels' addresses
    are personal data, so they are stored sealed; the channels tried and their errors are not.

    Every write is conditional on the version the notification was read at (`save`), which is
    how an attempt is claimed: of two instances that read it pending, one stores it in flight.
    Due messages go oldest first: those held back until quiet hours end, all due at one moment,
    in the order they were created. They are found by an equality on `unsettled`, which an index
    serves, so the sweep reads the few messages with something to do, not every one ever sent
    (the local engine filters `$in` and `$lte` by reading the whole collection). A request's
    history is an equality on `about`, which an index serves too."""

    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    async def ensure_indexes(self) -> None:
        await self._collection.create_index(
            [(UNSETTLED_FIELD, ASCENDING), ("next_attempt_at", ASCENDING)]
        )
        await self._collection.create_index(
            [("about", ASCENDING), ("created_at", ASCENDING)], name=ABOUT_INDEX
        )

    async def add(self, notification: Notification) -> bool:
        return await insert_new(
            self._collection,
            {
                "_id": notification.notification_id,
                **self._fields(notification),
                VERSION: notification.version,
                **outbox_fields((), self._cipher),
            },
        )

    async def get(self, notification_id: str) -> Notification | None:
        document = await self._collection.find_one({"_id": notification_id}, {"outbox": 0})
        return None if document is None else self._notification(document)

    async def about(self, about: str) -> list[Notification]:
        """Sorted here, not by the engine, so both engines order equal times alike, by id."""
        found = [
            self._notification(document)
            async for document in self._collection.find({"about": about}, {"outbox": 0})
        ]
        return sorted(found, key=lambda item: (item.created_at, item.notification_id))

    async def cancel(self, notification_id: str) -> bool:
        result = await self._collection.update_one(
            {"_id": notification_id, "status": NotificationStatus.PENDING.value},
            {
                "$set": {"status": NotificationStatus.CANCELLED.value, UNSETTLED_FIELD: False},
                "$inc": {VERSION: 1},
            },
        )
        return result.modified_count == 1

    async def due(
        self, now: datetime, limit: int, skip: Collection[str] = ()
    ) -> list[Notification]:
        wanted: Document = {UNSETTLED_FIELD: True, "next_attempt_at": {"$lte": now}}
        if skip:
            wanted["_id"] = {"$nin": list(skip)}
        cursor = self._collection.find(
            wanted,
            {"outbox": 0},
            sort=[("next_attempt_at", ASCENDING), ("created_at", ASCENDING)],
            limit=limit,
        )
        return [self._notification(document) async for document in cursor]

    async def save(self, notification: Notification, outbox: list[CloudEvent]) -> bool:
        saved = await update_document(
            self._collection,
            notification.notification_id,
            with_outbox({"$set": self._fields(notification)}, outbox, self._cipher),
            expected={VERSION: notification.version},
        )
        if saved:
            notification.version += 1
        return saved

    def _fields(self, notification: Notification) -> Document:
        context = f"notifications/{notification.notification_id}"
        return {
            "about": notification.about,
            "channel": notification.channel.value,
            "recipient": self._cipher.seal_text(notification.recipient, context=context),
            "template": notification.template,
            "text": self._cipher.seal_text(notification.text, context=context),
            "status": notification.status.value,
            UNSETTLED_FIELD: notification.status in UNSETTLED,
            "attempts": notification.attempts,
            "next_attempt_at": notification.next_attempt_at,
            "created_at": notification.created_at,
            "approved_template": None
            if notification.approved_template is None
            else self._cipher.seal_json(asdict(notification.approved_template), context=context),
            "subject": None
            if notification.subject is None
            else self._cipher.seal_text(notification.subject, context=context),
            "last_error": notification.last_error,
            "provider_message_id": notification.provider_message_id,
            "sent_at": notification.sent_at,
            "fallbacks": self._cipher.seal_json(
                {"legs": [asdict(leg) for leg in notification.fallbacks]}, context=context
            ),
            "tried": [item.model_dump(mode="json") for item in notification.tried],
        }

    def _notification(self, document: Document) -> Notification:
        context = f"notifications/{document['_id']}"
        return Notification(
            notification_id=document["_id"],
            about=document["about"],
            channel=DeliveryChannel(document["channel"]),
            recipient=self._cipher.open_text(document["recipient"], context=context),
            template=document["template"],
            text=self._cipher.open_text(document["text"], context=context),
            status=NotificationStatus(document["status"]),
            attempts=document["attempts"],
            next_attempt_at=document["next_attempt_at"],
            created_at=document["created_at"],
            approved_template=None
            if document["approved_template"] is None
            else _approved(self._cipher.open_json(document["approved_template"], context=context)),
            subject=None
            if document["subject"] is None
            else self._cipher.open_text(document["subject"], context=context),
            last_error=document["last_error"],
            provider_message_id=document["provider_message_id"],
            sent_at=document.get("sent_at"),
            fallbacks=tuple(
                _leg(leg)
                for leg in self._cipher.open_json(document["fallbacks"], context=context)["legs"]
            ),
            tried=tuple(ChannelTried.model_validate(item) for item in document["tried"]),
            version=document[VERSION],
        )


def _leg(opened: dict[str, Any]) -> Leg:
    approved = opened["approved_template"]
    return Leg(
        channel=DeliveryChannel(opened["channel"]),
        recipient=opened["recipient"],
        text=opened["text"],
        subject=opened["subject"],
        approved_template=None if approved is None else _approved(approved),
    )


def _approved(opened: dict[str, Any]) -> ApprovedTemplate:
    return ApprovedTemplate(
        name=opened["name"], language=opened["language"], parameters=tuple(opened["parameters"])
    )
