"""In-memory stand-ins for audit's ports, behaving like the Mongo adapters: entries by index and
unique by event, tree nodes written once, the latest checkpoint moved only from the one named, an
alert changed only from the state it was read in."""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import replace

from services.audit.domain.alerts import Alert, AlertOrder, AlertStatus, Severity, order_key
from services.audit.domain.checkpoint import SignedCheckpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.findings import Rule
from services.audit.domain.integrity.memory import MemoryChanges, RuleMemory
from services.audit.domain.merkle import Subtree
from services.audit.service_layer.ports import TreeIntegrityError
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox
from tests.polling import eventually


class FakeLogEntries:
    def __init__(self) -> None:
        self.by_index: dict[int, LogEntry] = {}
        self.known_size = 0
        self.looks = 0
        """How often the end of the log was asked for, so a test can wait for a follower."""

    async def size(self) -> int:
        self.looks += 1
        size = 0
        while size in self.by_index:
            size += 1
        self.known_size = size
        return size

    def end(self) -> int:
        self.looks += 1
        return self.known_size

    async def read_through(self) -> None:
        """Waits until a follower of the log looked at its end twice more: what it found the
        first time, it has handed on by the second."""
        looks = self.looks
        await eventually(lambda: self.looks >= looks + 2, what="a follower's looks", timeout_s=5)

    async def append(self, entries: Sequence[LogEntry]) -> int:
        added = 0
        for entry in entries:
            if entry.index in self.by_index or self._logged(entry.event_id):
                break
            self.by_index[entry.index] = copy.deepcopy(entry)
            if entry.index == self.known_size:
                self.known_size += 1
            added += 1
        return added

    def _logged(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.by_index.values())

    async def at(self, indexes: Collection[int]) -> dict[int, LogEntry]:
        return {
            index: copy.deepcopy(self.by_index[index])
            for index in indexes
            if index in self.by_index
        }

    async def following(self, start: int, stop: int) -> list[LogEntry]:
        found = await self.at(range(start, stop))
        in_a_row = itertools.takewhile(found.__contains__, range(start, stop))
        return [found[index] for index in in_a_row]

    async def entries(
        self, *, start: int = 0, subject: str | None = None, limit: int | None = None
    ) -> AsyncIterator[LogEntry]:
        if subject is None:
            selected: list[LogEntry] = []
            while start + len(selected) in self.by_index:
                selected.append(self.by_index[start + len(selected)])
        else:
            selected = [
                self.by_index[index]
                for index in sorted(self.by_index)
                if index >= start and self.by_index[index].subject == subject
            ]
        for entry in selected[: limit or None]:
            yield copy.deepcopy(entry)


class FakeTreeNodes:
    def __init__(self) -> None:
        self.hashes: dict[Subtree, bytes] = {}

    async def get(self, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
        return {subtree: self.hashes[subtree] for subtree in subtrees if subtree in self.hashes}

    async def put(self, nodes: Mapping[Subtree, bytes]) -> None:
        differing = [s for s, h in nodes.items() if self.hashes.setdefault(s, h) != h]
        if differing:
            raise TreeIntegrityError(f"stored tree nodes hold other hashes: {differing}")


class FakeCheckpoints:
    def __init__(self) -> None:
        self.current: SignedCheckpoint | None = None
        self.by_size: dict[int, SignedCheckpoint] = {}

    async def latest(self) -> SignedCheckpoint | None:
        return self.current

    async def advance(
        self, checkpoint: SignedCheckpoint, *, previous: SignedCheckpoint | None
    ) -> bool:
        if self.current != previous:
            return False
        self.current = checkpoint
        self.by_size.setdefault(checkpoint.size, checkpoint)
        return True

    async def history(self) -> list[SignedCheckpoint]:
        return [self.by_size[size] for size in sorted(self.by_size)]


class FakeAlerts:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.by_id: dict[str, Alert] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, alert: Alert, outbox: Sequence[CloudEvent]) -> bool:
        if alert.alert_id in self.by_id:
            return False
        self.by_id[alert.alert_id] = alert
        self.outbox += outbox
        return True

    async def get(self, alert_id: str) -> Alert | None:
        return self.by_id.get(alert_id)

    async def extend(self, alert: Alert) -> None:
        stored = self.by_id[alert.alert_id]
        self.by_id[alert.alert_id] = replace(stored, evidence=alert.evidence, summary=alert.summary)

    async def change(self, before: Alert, after: Alert, outbox: Sequence[CloudEvent]) -> bool:
        if self.by_id[after.alert_id].status is not before.status:
            return False
        self.by_id[after.alert_id] = after
        self.outbox += outbox
        return True

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
        found = [
            alert
            for alert in sorted(self.by_id.values(), key=order_key(order))
            if status in (None, alert.status)
            and rule in (None, alert.rule)
            and severity in (None, alert.severity)
            and service_point in (None, alert.service_point)
            and month in (None, alert.month)
        ]
        return found[offset : offset + limit]


class FakeProgress:
    """Parts saved first, each kept at its newest state (by the position it holds up to), then
    the position moved only from the one named."""

    def __init__(self) -> None:
        self.position = 0
        self.parts: dict[str, tuple[int, str]] = {}
        self.saves: list[MemoryChanges] = []

    async def load(self) -> tuple[int, RuleMemory]:
        parts = {name: value for name, (_, value) in self.parts.items()}
        return self.position, RuleMemory.from_parts(parts)

    async def save(self, position: int, changes: MemoryChanges, *, previous: int) -> bool:
        self.saves.append(changes)
        for name, value in changes.written.items():
            if self.parts.get(name, (position, ""))[0] <= position:
                self.parts[name] = (position, value)
        for name in changes.forgotten:
            if self.parts.get(name, (position, ""))[0] <= position:
                self.parts.pop(name, None)
        if self.position != previous:
            return False
        self.position = position
        return True
