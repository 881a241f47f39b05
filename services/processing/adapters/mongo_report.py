"""The monthly report's read model in MongoDB.

Counting writes no counter: the events counted at about the same time go into one new document
in `report_deltas` (each event's id digest and increments), an insert that rewrites nothing.
Now and then (`compact`) the deltas are folded into one counter document per month, `_id` the
month (`2026-11`), its counts nested as the report reads them (`rows.service.KK_BARU.received`,
`backlog.district.3516%2E09.opened.2026-11-02`): one conditional write per month, which also
records the events folded in (`fence`, the latest `FENCE` digests), and then the deltas folded
are removed. An event counted twice, after a crash or by a second consumer, or folded again after
a crash before its delta was removed, is in the fence or twice in the deltas, and adds once.
Reading a month adds its deltas not yet folded, the same way.

The local engine rewrites a whole document on every update, at a cost that grows with its size:
a month's counters are thousands of fields, so they are written once a fold, not once a batch.

Counter documents of an earlier layout (one per month, dimension, key and shard) are still read,
and so are the progress documents that layout kept per case (`earlier`), for the cases opened
before cases kept their steps.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable

from pymongo.asynchronous.collection import AsyncCollection

from services.processing.adapters.batching import AT_ONCE, Batching, GroupCommit
from services.processing.domain.report_counting import Progress
from services.processing.service_layer.ports import Counted
from shared.mongo import VERSION, Document, insert_new, update_document

FENCE = 4096
"""Events each month's counter document remembers: a duplicate of an event folded more than this
many events before would be counted again. Duplicates come from a crash or a rebalance, so they
follow their original closely."""
DIGEST = 16
"""Hex digits of an event id's digest in the fence, which is one string of them."""


class MongoReportStore:
    def __init__(
        self,
        counters: AsyncCollection[Document],
        deltas: AsyncCollection[Document],
        batching: Batching = AT_ONCE,
        *,
        earlier: AsyncCollection[Document] | None = None,
    ) -> None:
        self._counters = counters
        self._deltas = deltas
        self._earlier = earlier
        self._batches: GroupCommit[Counted, None] = GroupCommit(self._write, batching)

    async def count(self, counted: Counted) -> None:
        await self._batches.add(counted)

    async def _write(self, batch: list[Counted]) -> list[None]:
        by_month: dict[str, list[Counted]] = defaultdict(list)
        for counted in batch:
            by_month[counted.month].append(counted)
        await self._deltas.insert_many(
            [
                {
                    "_id": uuid.uuid4().hex,
                    VERSION: 0,
                    "month": month,
                    "events": [_event(counted) for counted in items],
                }
                for month, items in by_month.items()
            ]
        )
        return [None] * len(batch)

    async def compact(self) -> int:
        """Folds every delta into its month's counters; returns how many events were added."""
        by_month: dict[str, list[Document]] = defaultdict(list)
        async for delta in self._deltas.find({}):
            by_month[delta["month"]].append(delta)
        added = 0
        for month, deltas in by_month.items():
            added += await self._fold(month, deltas)
            await self._remove(deltas)
        return added

    async def _remove(self, deltas: list[Document]) -> None:
        await self._deltas.delete_many({"_id": {"$in": [delta["_id"] for delta in deltas]}})

    async def _fold(self, month: str, deltas: list[Document]) -> int:
        """Adds the deltas' events the month's fence does not hold, in one conditional write."""
        while True:
            stored = await self._counters.find_one({"_id": month}, {"fence": 1, VERSION: 1})
            if stored is None:
                await insert_new(self._counters, {"_id": month, "month": month, "fence": ""})
                continue
            fence = _digests(stored.get("fence", ""))
            increments, added = _sum(deltas, set(fence))
            if not added:
                return 0
            if await update_document(
                self._counters,
                month,
                {"$inc": increments, "$set": {"fence": "".join((*fence, *added)[-FENCE:])}},
                expected={VERSION: stored[VERSION]},
            ):
                return len(added)

    async def progress_kept(self, request_id: str) -> Progress | None:
        """Where the earlier layout left a case: its progress as of the last event it counted."""
        if self._earlier is None:
            return None
        document = await self._earlier.find_one({"_id": request_id})
        if document is None:
            return None
        return Progress(**{name: document[name] for name in _PROGRESS})

    async def counters(self, months: list[str]) -> dict[str, list[dict[str, object]]]:
        found: dict[str, list[dict[str, object]]] = {month: [] for month in months}
        query = {"month": {"$in": months}}
        for document in await self._with_deltas(query, {"backlog": 0}):
            found[str(document["month"])].append(_part(document, "rows"))
        return found

    async def backlog(self, first: str, last: str) -> list[dict[str, object]]:
        query = {"month": {"$gte": first, "$lte": last}}
        projection = {"month": 1, "dimension": 1, "key": 1, "backlog": 1, "fence": 1}
        return [
            _part(document, "backlog") for document in await self._with_deltas(query, projection)
        ]

    async def _with_deltas(self, query: Document, projection: Document) -> list[Document]:
        """The counter documents the query finds (both collections are small: a document per
        month, deltas of the last minute or so), each month's deltas not yet folded added as
        one more document. The deltas are read first: those folded before the counters are
        read are then in their fence, and add nothing twice."""
        by_month: dict[str, list[Document]] = defaultdict(list)
        async for delta in self._deltas.find(query):
            by_month[delta["month"]].append(delta)
        stored = [document async for document in self._counters.find(query, projection)]
        fences = {
            str(document["_id"]): set(_digests(document.get("fence", "")))
            for document in stored
            if "dimension" not in document
        }
        pending = [
            {"month": month, **_nested(_sum(deltas, fences.get(month, set()))[0])}
            for month, deltas in by_month.items()
        ]
        return stored + pending


def _digest(event_id: str) -> str:
    return hashlib.blake2b(event_id.encode(), digest_size=DIGEST // 2).hexdigest()


def _digests(fence: str) -> list[str]:
    return [fence[start : start + DIGEST] for start in range(0, len(fence), DIGEST)]


def _event(counted: Counted) -> Document:
    return {
        "id": _digest(counted.event_id),
        "paths": list(counted.increments),
        "amounts": list(counted.increments.values()),
    }


def _sum(deltas: Iterable[Document], fence: set[str]) -> tuple[dict[str, int], list[str]]:
    """The increments of the deltas' events not in the fence, each event once; and those
    events' digests."""
    increments: dict[str, int] = defaultdict(int)
    added: list[str] = []
    seen = set(fence)
    for delta in deltas:
        for event in delta["events"]:
            if event["id"] in seen:
                continue
            seen.add(event["id"])
            added.append(event["id"])
            for path, amount in zip(event["paths"], event["amounts"], strict=True):
                increments[path] += int(amount)
    return dict(increments), added


def _nested(increments: dict[str, int]) -> Document:
    """Dotted paths and amounts as the nested document an `$inc` of them would make."""
    nested: Document = {}
    for path, amount in increments.items():
        *parents, name = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[name] = node.get(name, 0) + amount
    return nested


def _part(document: Document, part: str) -> dict[str, object]:
    """The document's rows or backlog, nested as part → dimension → key → counts."""
    if "dimension" not in document:
        return {part: document.get(part, {})}
    legacy = _legacy_counts(document) if part == "rows" else document.get("backlog", {})
    return {part: {document["dimension"]: {document["key"]: legacy}}}


_NOT_COUNTS = frozenset(
    {"_id", "month", "dimension", "key", "shard", "version", "fence", "backlog"}
)


def _legacy_counts(document: Document) -> Document:
    return {name: value for name, value in document.items() if name not in _NOT_COUNTS}


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
