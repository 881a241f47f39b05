"""The edges audit's use cases talk to: the entries, the tree's nodes and the checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Protocol

from services.audit.domain.checkpoint import SignedCheckpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.merkle import Subtree


class TreeIntegrityError(Exception):
    """The stored log or tree no longer matches what was recorded or signed: nothing more is
    signed on top of it."""


class LogEntries(Protocol):
    async def size(self) -> int:
        """How many entries the log holds: they have the indexes 0 to size - 1."""
        ...

    def end(self) -> int:
        """The size as this process last knew it, from its own appends and its last `size()`,
        without reading anything: every index below it is taken."""
        ...

    async def append(self, entries: Sequence[LogEntry]) -> int:
        """Adds the entries in order in one write, stopping at the first whose index or event is
        taken; returns how many were added."""
        ...

    async def at(self, indexes: Collection[int]) -> dict[int, LogEntry]:
        """The entries at these indexes, by index; an index without an entry is left out."""
        ...

    async def following(self, start: int, stop: int) -> list[LogEntry]:
        """For the log's followers: the entries from `start` to `stop` (below the end), as many
        as there are in a row. Those appended or read lately may come from memory."""
        ...

    def entries(
        self, *, start: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[LogEntry]:
        """Entries from index `start` on, in index order."""
        ...


class TreeNodes(Protocol):
    """The hashes of the tree's complete subtrees, each stored once and never changed."""

    async def get(self, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
        """The stored hashes of these subtrees; one not stored is left out."""
        ...

    async def put(self, nodes: Mapping[Subtree, bytes]) -> None:
        """Stores the hashes; one stored already stays. TreeIntegrityError if it differs."""
        ...


class CheckpointStore(Protocol):
    async def latest(self) -> SignedCheckpoint | None:
        """The last checkpoint signed, or None before the first."""
        ...

    async def advance(
        self, checkpoint: SignedCheckpoint, *, previous: SignedCheckpoint | None
    ) -> bool:
        """Makes `checkpoint` the latest if `previous` still is (None: if there is none yet), and
        keeps it in the history; False if another checkpoint got there first."""
        ...

    async def history(self) -> list[SignedCheckpoint]:
        """Every checkpoint that was the latest, by tree size."""
        ...
