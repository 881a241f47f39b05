"""The monthly report's read model in MongoDB, every hot write addressed by `_id`.

`report_cases` holds one progress document per request (`_id` the request id): the events
applied, the case's progress and the increments not yet counted. `report_counters` holds small
documents per month, dimension, key and shard (`_id` like `2026-11|service|KK_BARU|3`), raised
with `$inc` (the local engine rewrites a whole document on each update, so small documents keep
updates cheap). A request's increments always go to the shard its id hashes to, so concurrent
requests rarely write one document at once, while each counter's `fence` (the last events
counted into it) still sees every repeat of an event: an event's increments are added once even
when counting is repeated after a crash or by a second consumer. The counters are a small
collection (about a thousand documents a month), so reading a month scans little even where only
`_id` is indexed.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.processing.domain.report import Progress, field_key
from services.processing.service_layer.report import Pending, Tracked
from shared.mongo import Document, insert_new, update_document

SHARDS = 8
FENCE = 64
"""Event ids each counter document remembers: a duplicate of an event counted more than this
many counts ago on the same document would be counted again. Duplicates come from a crash or a
rebalance, so they follow their original closely."""


class MongoReportStore:
    def __init__(
        self, cases: AsyncCollection[Document], counters: AsyncCollection[Document]
    ) -> None:
        self._cases = cases
        self._counters = counters
        self._known_counters: set[str] = set()

    async def tracked(self, request_id: str) -> Tracked | None:
        document = await self._cases.find_one({"_id": request_id})
        if document is None:
            return None
        return Tracked(
            progress=Progress(**{name: document[name] for name in _PROGRESS}),
            applied=frozenset(document["processed_events"]),
            pending=tuple(_pending(item) for item in document["pending"].values()),
            version=int(document["version"]),
        )

    async def start(self, request_id: str, progress: Progress, *, pending: Pending) -> bool:
        return await insert_new(
            self._cases,
            {
                "_id": request_id,
                **_fields(progress),
                "processed_events": [pending.event_id],
                "pending": {field_key(pending.event_id): _item(pending)},
            },
        )

    async def advance(
        self,
        request_id: str,
        progress: Progress,
        *,
        event_id: str,
        pending: Pending | None,
        version: int,
    ) -> bool:
        changes: Document = _fields(progress)
        if pending is not None:
            changes[f"pending.{field_key(event_id)}"] = _item(pending)
        return await update_document(
            self._cases,
            request_id,
            {"$set": changes, "$push": {"processed_events": event_id}},
            expected={"version": version, "processed_events": {"$ne": event_id}},
        )

    async def count(self, request_id: str, pending: Pending) -> None:
        by_counter = counter_increments(pending.month, pending.increments, shard_of(request_id))
        for counter, increments in by_counter.items():
            if counter not in self._known_counters:
                await insert_new(self._counters, {**new_counter(counter), "fence": []})
                self._known_counters.add(counter)
            await update_document(
                self._counters,
                counter,
                {"$inc": increments, "$push": {"fence": pending.event_id}},
                expected={"fence": {"$ne": pending.event_id}},
            )
        await self._forget(request_id, list(by_counter), pending)

    async def _forget(self, request_id: str, counters: list[str], pending: Pending) -> None:
        """Removes a counted event's pending item, and each counter's oldest fence entry once its
        fence is longer than `FENCE`: an entry stays while a late duplicate could come."""
        await update_document(
            self._cases, request_id, {"$unset": {f"pending.{field_key(pending.event_id)}": ""}}
        )
        for counter in counters:
            await update_document(
                self._counters,
                counter,
                {"$pop": {"fence": -1}},
                expected={f"fence.{FENCE}": {"$exists": True}},
            )

    async def counters(self, months: list[str]) -> dict[str, list[dict[str, object]]]:
        found: dict[str, list[dict[str, object]]] = {month: [] for month in months}
        cursor = self._counters.find({"month": {"$in": months}}, {"fence": 0, "backlog": 0})
        async for document in cursor:
            found[document["month"]].append(_nested(document, "rows", _counts(document)))
        return found

    async def backlog(self, first: str, last: str) -> list[dict[str, object]]:
        cursor = self._counters.find(
            {"month": {"$gte": first, "$lte": last}},
            {"month": 1, "dimension": 1, "key": 1, "backlog": 1},
        )
        return [
            _nested(document, "backlog", document.get("backlog", {})) async for document in cursor
        ]


def shard_of(request_id: str) -> int:
    return int(hashlib.sha256(request_id.encode()).hexdigest()[:8], 16) % SHARDS


def counter_increments(
    month: str, increments: dict[str, int], shard: int
) -> dict[str, dict[str, int]]:
    """The increments of one month by the counter document (of `shard`) they go to, and its
    field."""
    by_counter: dict[str, dict[str, int]] = {}
    for path, amount in increments.items():
        part, dimension, key, field = path.split(".", 3)
        name = field if part == "rows" else f"{part}.{field}"
        by_counter.setdefault(f"{month}|{dimension}|{key}|{shard}", {})[name] = amount
    return by_counter


def new_counter(counter: str) -> Document:
    """A counter document's identifying fields, from its `_id`."""
    month, dimension, key, shard = counter.split("|")
    return {"_id": counter, "month": month, "dimension": dimension, "key": key, "shard": int(shard)}


_NOT_COUNTS = frozenset(
    {"_id", "month", "dimension", "key", "shard", "version", "fence", "backlog"}
)


def _counts(document: Document) -> Document:
    return {name: value for name, value in document.items() if name not in _NOT_COUNTS}


def _nested(document: Document, part: str, counts: object) -> dict[str, object]:
    """A counter document in the report's nested form: part → dimension → key → counts."""
    return {part: {document["dimension"]: {document["key"]: counts}}}


_PROGRESS = (
    "service",
    "channel",
    "district",
    "opened_at",
    "state",
    "since",
    "waiting_s",
    "sent_back",
    "closed",
)


def _fields(progress: Progress) -> Document:
    return {name: getattr(progress, name) for name in _PROGRESS}


def _item(pending: Pending) -> Document:
    return {
        "event_id": pending.event_id,
        "month": pending.month,
        "increments": [{"path": path, "by": amount} for path, amount in pending.increments.items()],
    }


def _pending(item: dict[str, Any]) -> Pending:
    return Pending(
        event_id=item["event_id"],
        month=item["month"],
        increments={step["path"]: int(step["by"]) for step in item["increments"]},
    )
