"""Audit's use cases for the Merkle tree: sign checkpoints, serve proofs, export and verify the log.

Entries are appended first; the checkpointer then adds the new leaves to the stored tree and signs
the new size. The tree is proven to extend the last signed one before anything is signed, and a
checkpoint becomes the latest only if the one it extends still is, so neither a second audit
instance nor a restart can sign two trees that disagree.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from services.audit.domain import merkle
from services.audit.domain.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.merkle import CompactRange, Span, Subtree
from services.audit.domain.note import NoteSigner, NoteVerifier
from services.audit.domain.verification import (
    ExportedCheckpoint,
    ExportedEntry,
    ExportedLeaf,
    LogVerifier,
    Record,
    Report,
)
from services.audit.service_layer.ports import (
    CheckpointStore,
    LogEntries,
    TreeIntegrityError,
    TreeNodes,
)
from shared.errors import Kind, Refusal

log = logging.getLogger(__name__)

EXPORT_BATCH = 200
READ_BATCH = 200
MAX_HANDED_OVER = 100_000
"""Leaves of appended entries kept for the checkpointer; beyond it, they are read back."""


class NoCheckpoint(Refusal):
    """The log has not signed a checkpoint yet."""

    def __init__(self) -> None:
        super().__init__(
            "no_checkpoint", "Belum ada checkpoint yang ditandatangani.", Kind.NOT_FOUND
        )


class ProofRefused(Exception):
    """A proof asked for trees the log has not signed, or leaves they do not hold."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: list[bytes]


class Checkpointer:
    """Adds the entries appended since the last checkpoint to the tree and signs the new size.

    The leaves of the entries this process appended are handed over in memory (`appended`), so
    adding them reads nothing back; those another instance appended are read by index. While the
    log's end is no further than the last checkpoint seen, a run reads nothing at all; the last
    checkpoint this process signed is taken as the latest until an advance says otherwise.
    """

    def __init__(
        self,
        *,
        entries: LogEntries,
        nodes: TreeNodes,
        checkpoints: CheckpointStore,
        signer: NoteSigner,
        max_leaves: int = 10_000,
        prove_from_store_every: int = 30,
    ) -> None:
        self._entries = entries
        self._nodes = nodes
        self._checkpoints = checkpoints
        self._signer = signer
        self._max_leaves = max_leaves
        self._appended: dict[int, bytes] = {}
        self._last_signed: tuple[SignedCheckpoint, CompactRange] | None = None
        self._seen_size: int | None = None
        self._prove_from_store_every = prove_from_store_every
        self._since_proven_from_store = 0

    def appended(self, entries: Sequence[LogEntry]) -> None:
        """Takes the leaves of entries just appended to the log, up to a bound."""
        if len(self._appended) < MAX_HANDED_OVER:
            self._appended.update((entry.index, entry.leaf_hash()) for entry in entries)

    async def run(self) -> SignedCheckpoint | None:
        """Signs the next checkpoint, if entries arrived; None if none did, if another instance
        signed first, or if the stored log or tree is not what was signed (logged as an error)."""
        try:
            return await self._next()
        except TreeIntegrityError as exc:
            log.error("refusing to sign a checkpoint: %s", exc)
            return None

    async def _next(self) -> SignedCheckpoint | None:
        if self._seen_size is not None and self._entries.end() <= self._seen_size:
            return None
        if self._last_signed is not None:
            latest: SignedCheckpoint | None = self._last_signed[0]
        else:
            latest = await self._checkpoints.latest()
        self._seen_size = 0 if latest is None else latest.size
        tree = await self._signed_tree(latest)
        size = tree.size
        known = tree.nodes()
        completed: dict[Subtree, bytes] = {}
        async for leaf in self._new_leaves(size):
            completed.update(tree.append(leaf))
        if tree.size == size:
            return None
        await self._nodes.put(completed)
        checkpoint = Checkpoint(origin=self._signer.name, size=tree.size, root_hash=tree.root())
        if latest is not None:
            self._since_proven_from_store += 1
            if self._since_proven_from_store >= self._prove_from_store_every:
                self._since_proven_from_store = 0
                known, completed = {}, {}
            await self._check_extends(latest, checkpoint, known | completed)
        signed = sign_checkpoint(checkpoint, self._signer)
        if not await self._checkpoints.advance(signed, previous=latest):
            self._last_signed = None
            self._seen_size = None
            return None
        self._last_signed = (signed, tree)
        self._seen_size = signed.size
        log.info("signed checkpoint %d", signed.size)
        return signed

    async def _new_leaves(self, start: int) -> AsyncIterator[bytes]:
        """The leaves from index `start` to the end of the log, at most `max_leaves` of them."""
        self._appended = {index: leaf for index, leaf in self._appended.items() if index >= start}
        end = min(self._entries.end(), start + self._max_leaves)
        for first in range(start, end, READ_BATCH):
            indexes = range(first, min(first + READ_BATCH, end))
            read = await self._entries.at([i for i in indexes if i not in self._appended])
            for index in indexes:
                if index in self._appended:
                    yield self._appended.pop(index)
                elif index in read:
                    yield read[index].leaf_hash()
                else:
                    raise TreeIntegrityError(f"entry {index} is missing")

    async def _signed_tree(self, latest: SignedCheckpoint | None) -> CompactRange:
        """The tree as the latest checkpoint signed it: kept from this process's last signing
        while no other instance signed since, otherwise from the stored nodes."""
        if latest is None:
            return CompactRange()
        if self._last_signed is not None and self._last_signed[0] == latest:
            return self._last_signed[1].copy()
        frontier = CompactRange.frontier(latest.size)
        stored = await self._nodes.get(frontier)
        if len(stored) != len(frontier):
            raise TreeIntegrityError(f"the tree lacks nodes of checkpoint {latest.size}")
        tree = CompactRange(latest.size, [stored[subtree] for subtree in frontier])
        if tree.root() != latest.root_hash:
            raise TreeIntegrityError(f"the stored tree no longer gives checkpoint {latest.size}")
        return tree

    async def _check_extends(
        self, latest: SignedCheckpoint, checkpoint: Checkpoint, known: Mapping[Subtree, bytes]
    ) -> None:
        """Proves the new tree extends the signed one from the `known` nodes, reading only what
        they lack: those the tree was built of and those it completed (just stored), except at
        every `prove_from_store_every`-th checkpoint, which reads them all from the store and so
        finds a stored node changed since it was written."""
        proof = await span_hashes(
            self._nodes, merkle.consistency_spans(latest.size, checkpoint.size), known=known
        )
        if not merkle.verify_consistency(
            first=latest.size,
            second=checkpoint.size,
            first_root=latest.root_hash,
            second_root=checkpoint.root_hash,
            proof=proof,
        ):
            raise TreeIntegrityError(
                f"the tree of {checkpoint.size} leaves does not extend checkpoint {latest.size}"
            )


async def span_hashes(
    nodes: TreeNodes, spans: Sequence[Span], *, known: Mapping[Subtree, bytes] | None = None
) -> list[bytes]:
    """The hashes of these spans, from the `known` nodes and the stored ones: O(log n) lookups
    for any proof."""
    known = known or {}
    wanted = merkle.needed(spans) - known.keys()
    stored = await nodes.get(wanted) if wanted else {}
    if len(stored) != len(wanted):
        raise TreeIntegrityError("the tree lacks nodes a proof needs")
    return merkle.span_hashes(spans, {**known, **stored})


async def inclusion_proof(
    *, nodes: TreeNodes, checkpoints: CheckpointStore, index: int, tree_size: int | None
) -> InclusionProof:
    """The audit path of leaf `index` in the signed tree of `tree_size` leaves (by default the
    latest checkpoint's)."""
    size = await _signed_size(checkpoints, tree_size, field="tree_size")
    if index >= size:
        raise ProofRefused("index", f"Pohon berukuran {size} memuat indeks 0 sampai {size - 1}.")
    leaf, *proof = await span_hashes(
        nodes, [Span(index, index + 1), *merkle.inclusion_spans(index, size)]
    )
    return InclusionProof(index=index, tree_size=size, leaf_hash=leaf, proof=proof)


async def consistency_proof(
    *, nodes: TreeNodes, checkpoints: CheckpointStore, first: int, second: int | None
) -> ConsistencyProof:
    """The proof that the signed tree of `second` leaves (by default the latest checkpoint's)
    extends the tree of its first `first` leaves."""
    size = await _signed_size(checkpoints, second, field="second")
    if first > size:
        raise ProofRefused("first", f"Paling besar {size}: ukuran pohon yang kedua.")
    proof = await span_hashes(nodes, merkle.consistency_spans(first, size))
    return ConsistencyProof(first=first, second=size, proof=proof)


async def _signed_size(checkpoints: CheckpointStore, size: int | None, *, field: str) -> int:
    latest = await checkpoints.latest()
    if latest is None:
        raise ProofRefused(field, "Belum ada checkpoint yang ditandatangani.")
    if size is None:
        return latest.size
    if size > latest.size:
        raise ProofRefused(
            field, f"Paling besar {latest.size}: ukuran pohon pada checkpoint terakhir."
        )
    return size


async def export_log(
    *, entries: LogEntries, nodes: TreeNodes, checkpoints: CheckpointStore
) -> AsyncIterator[Record]:
    """The whole log, for checking elsewhere: every checkpoint with its proof that it extends the
    one before, then every entry with the leaf hash the tree recorded for it.

    Entries are read up to the latest checkpoint's size even past a gap, where the leaf the tree
    recorded stands in for a removed entry, then on until the log ends. A proof the stored tree
    cannot give is left empty, so that the checkpoint shows as not proven rather than the export
    breaking off.
    """
    history = await checkpoints.history()
    previous: SignedCheckpoint | None = None
    for checkpoint in history:
        spans = merkle.consistency_spans(previous.size, checkpoint.size) if previous else []
        try:
            proof = await span_hashes(nodes, spans)
        except TreeIntegrityError:
            proof = []
        yield ExportedCheckpoint(checkpoint.note, proof)
        previous = checkpoint
    covered = history[-1].size if history else 0
    start = 0
    while True:
        indexes = range(start, start + EXPORT_BATCH)
        found = await entries.at(indexes)
        if not found and start >= covered:
            return
        recorded = [index for index in indexes if index in found or index < covered]
        leaves = await nodes.get([Subtree(0, index) for index in recorded])
        for index in recorded:
            leaf = leaves.get(Subtree(0, index))
            if index in found:
                yield ExportedEntry(found[index], leaf)
            elif leaf is not None:
                yield ExportedLeaf(index, leaf)
        start += EXPORT_BATCH


async def verify_log(
    *,
    entries: LogEntries,
    nodes: TreeNodes,
    checkpoints: CheckpointStore,
    verifier: NoteVerifier,
) -> Report:
    """Checks the stored log as an auditor checks an export of it."""
    checker = LogVerifier(verifier)
    async for record in export_log(entries=entries, nodes=nodes, checkpoints=checkpoints):
        checker.take(record)
    return checker.report()
