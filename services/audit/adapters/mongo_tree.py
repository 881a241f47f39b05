"""The Merkle tree's nodes and the signed checkpoints in MongoDB, every hot read by `_id`.

A node is a complete subtree, `_id` `<level>:<index>`, written once. The latest checkpoint is one
document (`_id` `latest`) that moves forward only by a conditional update naming the checkpoint it
replaces; each checkpoint that was the latest is also kept by its tree size (`_id` the size).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Collection, Mapping

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.audit.domain.checkpoint import Checkpoint, SignedCheckpoint
from services.audit.domain.merkle import Subtree
from services.audit.service_layer.ports import TreeIntegrityError
from shared.mongo import Document, insert_new, update_document

DUPLICATE_KEY = 11000
LATEST = "latest"


class MongoTreeNodes:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def get(self, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
        ordered = list(subtrees)
        documents = await asyncio.gather(
            *(self._collection.find_one({"_id": _node_id(subtree)}) for subtree in ordered)
        )
        return {
            subtree: base64.b64decode(document["hash"])
            for subtree, document in zip(ordered, documents, strict=True)
            if document is not None
        }

    async def put(self, nodes: Mapping[Subtree, bytes]) -> None:
        if not nodes:
            return
        documents = [
            {"_id": _node_id(subtree), "hash": base64.b64encode(hash_).decode()}
            for subtree, hash_ in nodes.items()
        ]
        try:
            await self._collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != DUPLICATE_KEY for error in exc.details["writeErrors"]):
                raise
            taken = [documents[error["index"]]["_id"] for error in exc.details["writeErrors"]]
            await self._check_same([_subtree(node_id) for node_id in taken], nodes)

    async def _check_same(self, subtrees: list[Subtree], nodes: Mapping[Subtree, bytes]) -> None:
        stored = await self.get(subtrees)
        differing = [subtree for subtree in subtrees if stored.get(subtree) != nodes[subtree]]
        if differing:
            names = ", ".join(_node_id(subtree) for subtree in differing[:5])
            raise TreeIntegrityError(f"stored tree nodes hold other hashes: {names}")


class MongoCheckpoints:
    def __init__(
        self, latest: AsyncCollection[Document], history: AsyncCollection[Document]
    ) -> None:
        self._latest = latest
        self._history = history

    async def latest(self) -> SignedCheckpoint | None:
        document = await self._latest.find_one({"_id": LATEST})
        return None if document is None else _checkpoint(document)

    async def advance(
        self, checkpoint: SignedCheckpoint, *, previous: SignedCheckpoint | None
    ) -> bool:
        fields = _fields(checkpoint)
        if previous is None:
            moved = await insert_new(self._latest, {"_id": LATEST, **fields})
        else:
            # What a crash between moving the latest and keeping it in the history left undone.
            await self._keep(previous)
            moved = await update_document(
                self._latest,
                LATEST,
                {"$set": fields},
                expected={"size": previous.size, "root_hash": _encoded_root(previous)},
            )
        if moved:
            await self._keep(checkpoint)
        return moved

    async def _keep(self, checkpoint: SignedCheckpoint) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._history.insert_one({"_id": checkpoint.size, **_fields(checkpoint)})

    async def history(self) -> list[SignedCheckpoint]:
        cursor = self._history.find({}, sort=[("_id", ASCENDING)])
        return [_checkpoint(document) async for document in cursor]


def _node_id(subtree: Subtree) -> str:
    return f"{subtree.level}:{subtree.index}"


def _subtree(node_id: str) -> Subtree:
    level, index = node_id.split(":")
    return Subtree(int(level), int(index))


def _encoded_root(checkpoint: SignedCheckpoint) -> str:
    return base64.b64encode(checkpoint.root_hash).decode()


def _fields(checkpoint: SignedCheckpoint) -> Document:
    return {
        "origin": checkpoint.checkpoint.origin,
        "size": checkpoint.size,
        "root_hash": _encoded_root(checkpoint),
        "note": checkpoint.note,
    }


def _checkpoint(document: Document) -> SignedCheckpoint:
    checkpoint = Checkpoint(
        origin=document["origin"],
        size=document["size"],
        root_hash=base64.b64decode(document["root_hash"]),
    )
    return SignedCheckpoint(checkpoint, document["note"])
