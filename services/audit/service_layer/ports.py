"""The edges audit's use cases talk to: the entries, the tree's nodes, the checkpoints, the
entries topic and its published position, the integrity alerts and the engine's progress."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from typing import Protocol

from services.audit.domain.alerts import Alert, AlertOrder, AlertStatus, Severity
from services.audit.domain.checkpoint import SignedCheckpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.findings import Rule
from services.audit.domain.integrity.memory import MemoryChanges, RuleMemory
from services.audit.domain.merkle import Subtree
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


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


class EntriesTopic(Protocol):
    async def publish(self, entries: Sequence[LogEntry]) -> None:
        """Returns once every entry is on the topic, in the order given."""


class PublishedPosition(Protocol):
    async def get(self) -> int:
        """The index of the first entry not yet known to be on the topic."""

    async def advance(self, *, from_index: int, to_index: int) -> bool:
        """Moves the position forward if it still is `from_index`; False if another relay moved
        it meanwhile."""


class AlertStore(Protocol):
    outgoing: Outbox

    async def add(self, alert: Alert, outbox: Sequence[CloudEvent]) -> bool:
        """Stores a new alert with its events; False if one with its id exists."""
        ...

    async def get(self, alert_id: str) -> Alert | None: ...

    async def extend(self, alert: Alert) -> None:
        """Gives the stored alert `alert`'s evidence and summary, whatever its status."""
        ...

    async def change(self, before: Alert, after: Alert, outbox: Sequence[CloudEvent]) -> bool:
        """Replaces the alert with `after` if it is still in `before`'s status; False if not."""
        ...

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
        """Alerts matching every given filter, in `order` (`order_key`)."""
        ...


class EngineProgress(Protocol):
    async def load(self) -> tuple[int, RuleMemory]:
        """The saved position and the memory: every part saved, perhaps ahead of the position."""
        ...

    async def save(self, position: int, changes: MemoryChanges, *, previous: int) -> bool:
        """Saves the changed parts, then moves the position to `position` if the stored one is
        still `previous`; False if another instance moved it. The parts are saved either way:
        each holds what the entries up to `position` showed, and a load gets the newest saved
        state of each part, so what an instance behind saves never hides what another saved."""
        ...
