"""Integrity alerts in audit's MongoDB (the engine's progress is in `mongo_rule_memory`).

An alert is one document, `_id` its alert id, with its events in its `outbox`; a step an auditor
takes is a conditional update naming the status it leaves. The resolution note may name people,
so it is sealed.

Alerts are few (a handful a day at a regency's offices), so the auditors' filtered lists and the
monthly summary may scan the collection; every step on one alert is by `_id`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.audit.domain.alerts import RANK, Alert, AlertOrder, AlertStatus, Severity, rules_of
from services.audit.domain.integrity.findings import Rule
from shared.crypto import Cipher
from shared.events.envelope import CloudEvent
from shared.mongo import Document, insert_new, outbox_fields, update_document, with_outbox
from shared.outbox import Outbox

SORTS = {
    AlertOrder.NEWEST: [("index", DESCENDING), ("_id", DESCENDING)],
    AlertOrder.SEVERITY: [
        ("severity_rank", DESCENDING),
        ("index", DESCENDING),
        ("_id", DESCENDING),
    ],
    AlertOrder.RULE: [("rule", ASCENDING), ("index", DESCENDING), ("_id", DESCENDING)],
}
"""`order_key` as the engine sorts; an alert stored before severities has no rank and comes
last when sorted by severity."""


class MongoAlerts:
    def __init__(self, collection: AsyncCollection[Document], cipher: Cipher) -> None:
        self.outgoing = Outbox()
        self._collection = collection
        self._cipher = cipher

    async def add(self, alert: Alert, outbox: Sequence[CloudEvent]) -> bool:
        return await insert_new(
            self._collection,
            {
                "_id": alert.alert_id,
                **self._fields(alert),
                **outbox_fields(outbox, self._cipher),
            },
        )

    async def extend(self, alert: Alert) -> None:
        await update_document(
            self._collection,
            alert.alert_id,
            {"$set": {"evidence": list(alert.evidence), "summary": alert.summary}},
        )

    async def get(self, alert_id: str) -> Alert | None:
        document = await self._collection.find_one({"_id": alert_id}, {"outbox": 0})
        return None if document is None else self._alert(document)

    async def change(self, before: Alert, after: Alert, outbox: Sequence[CloudEvent]) -> bool:
        return await update_document(
            self._collection,
            after.alert_id,
            with_outbox({"$set": self._fields(after)}, outbox, self._cipher),
            expected={"status": before.status.value},
        )

    async def find(
        self,
        *,
        status: AlertStatus | None,
        rule: Rule | None,
        service_point: str | None,
        month: str | None,
        offset: int,
        limit: int,
        severity: Severity | None = None,
        order: AlertOrder = AlertOrder.NEWEST,
    ) -> list[Alert]:
        query: Document = {}
        if severity is not None:
            query["rule"] = {"$in": [rule.value for rule in rules_of(severity)]}
        for name, value in (
            ("status", status),
            ("rule", rule),
            ("service_point", service_point),
            ("month", month),
        ):
            if value is not None:
                query[name] = str(value)
        cursor = self._collection.find(
            query,
            {"outbox": 0},
            sort=SORTS[order],
            skip=offset,
            limit=limit,
        )
        return [self._alert(document) async for document in cursor]

    def _fields(self, alert: Alert) -> Document:
        return {
            "rule": alert.rule.value,
            "severity_rank": RANK[alert.severity],
            "index": alert.index,
            "evidence": list(alert.evidence),
            "officers": list(alert.officers),
            "service_point": alert.service_point,
            "about": alert.about,
            "summary": alert.summary,
            "occurred_at": alert.occurred_at,
            "month": alert.month,
            "raised_at": alert.raised_at,
            "status": alert.status.value,
            "acknowledged_by": alert.acknowledged_by,
            "acknowledged_at": alert.acknowledged_at,
            "resolved_by": alert.resolved_by,
            "resolved_at": alert.resolved_at,
            "note": None
            if alert.note is None
            else self._cipher.seal_text(alert.note, context=_note_context(alert.alert_id)),
        }

    def _alert(self, document: Document) -> Alert:
        note = document.get("note")
        return Alert(
            alert_id=document["_id"],
            rule=Rule(document["rule"]),
            index=document["index"],
            evidence=tuple(document["evidence"]),
            officers=tuple(document["officers"]),
            service_point=document["service_point"],
            about=document["about"],
            summary=document["summary"],
            occurred_at=(document["occurred_at"]),
            raised_at=(document["raised_at"]),
            status=AlertStatus(document["status"]),
            acknowledged_by=document.get("acknowledged_by"),
            acknowledged_at=(document.get("acknowledged_at")),
            resolved_by=document.get("resolved_by"),
            resolved_at=(document.get("resolved_at")),
            note=None
            if note is None
            else self._cipher.open_text(note, context=_note_context(document["_id"])),
        )


def _note_context(alert_id: str) -> str:
    return f"integrity_alerts/{alert_id}/note"
