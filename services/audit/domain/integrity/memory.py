"""What the rules remember between entries (`RuleMemory`), kept in small parts so that saving it
writes only the parts an entry changed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """The kinds of part the memory is kept in; a part's name is `<kind>/<key>`."""

    REQUESTS = "requests"
    UNASSIGNED_READS = "unassigned_reads"
    """By `officer day`."""
    BREACHES = "breaches"
    """By `officer month`."""
    OFF_HOURS = "off_hours"
    """By `officer day`: the day's actions outside office time, one alert for them all."""


@dataclass
class RequestMemory:
    """What the rules keep about one request (or letter) while it is seen. Each fact keeps the
    entry that showed it, so that a rule judging an entry consults only what the entries up to it
    showed, however far past it the memory has gone (entries read again after a restart)."""

    last_seen: str
    service_point: str | None = None
    opened: int | None = None
    """The entry that gave its service point."""
    applicant_nik: str | None = None
    applicant_family_card: str | None = None
    submitted: int | None = None
    """The entry that named its applicant."""
    assigned: dict[str, int] = field(default_factory=dict)
    """Officers who ever held its case, with the first entry that shows it: they may read it."""
    touched: dict[str, int] = field(default_factory=dict)
    """Each officer who acted on it or read it, with the first entry that shows it."""
    send_backs: list[int] = field(default_factory=list)
    sent_back_by: dict[str, int] = field(default_factory=dict)
    """Each officer who sent it back, with their first send-back."""
    self_dealing: dict[str, int] = field(default_factory=dict)
    """Officers alerted for acting on their own request, with the entry that raised it."""


@dataclass
class CountMemory:
    """Entries counted for one officer in one period (a WIB day or month)."""

    last_seen: str
    indexes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class MemoryChanges:
    """What a save of the memory writes: the parts changed and those forgotten since the last."""

    written: dict[str, str]
    """Each changed part's JSON, by name."""
    forgotten: frozenset[str]


@dataclass
class RuleMemory:
    """Everything the rules remember between entries, in parts: one request, or one officer's
    count for a day or a month. Each part stays small, and the memory records which parts
    changed, so that saving it writes those parts only: neither grows with the log."""

    requests: dict[str, RequestMemory] = field(default_factory=dict)
    unassigned_reads: dict[str, CountMemory] = field(default_factory=dict)
    breaches: dict[str, CountMemory] = field(default_factory=dict)
    off_hours: dict[str, CountMemory] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set, init=False, compare=False, repr=False)
    _forgotten: set[str] = field(default_factory=set, init=False, compare=False, repr=False)

    def request(self, key: str, seen: datetime) -> RequestMemory:
        """The request's memory, to change: made if new, seen at `seen` at the latest."""
        memory = self.requests.setdefault(key, RequestMemory(last_seen=seen.isoformat()))
        memory.last_seen = max(memory.last_seen, seen.isoformat())
        self._mark(Kind.REQUESTS, key)
        return memory

    def count(self, kind: Kind, key: str, seen: datetime) -> CountMemory:
        """A count's memory, to change: made if new, seen at `seen` at the latest."""
        memory = self._counts(kind).setdefault(key, CountMemory(last_seen=seen.isoformat()))
        memory.last_seen = max(memory.last_seen, seen.isoformat())
        self._mark(kind, key)
        return memory

    def forget_before(self, moment: datetime) -> None:
        """Drops what was last seen before `moment`, so the memory stays bounded."""
        cutoff = moment.isoformat()
        for kind in Kind:
            memories = self._kind(kind)
            for key in [key for key, value in memories.items() if value.last_seen < cutoff]:
                del memories[key]
                self._changed.discard(f"{kind}/{key}")
                self._forgotten.add(f"{kind}/{key}")

    def take_changes(self) -> MemoryChanges:
        """The parts changed and forgotten since loaded or last taken; records afresh from here."""
        written = {name: text for name in self._changed if (text := self.part(name)) is not None}
        changes = MemoryChanges(written=written, forgotten=frozenset(self._forgotten))
        self._changed.clear()
        self._forgotten.clear()
        return changes

    def part(self, name: str) -> str | None:
        """One part's JSON, by name; None if not remembered."""
        kind, _, key = name.partition("/")
        value = self._kind(Kind(kind)).get(key)
        return None if value is None else json.dumps(asdict(value), **_COMPACT)

    def names(self) -> list[str]:
        """The name of every part remembered."""
        return [f"{kind}/{key}" for kind in Kind for key in self._kind(kind)]

    @classmethod
    def from_parts(cls, parts: Mapping[str, str]) -> RuleMemory:
        """The memory its saved parts make up, with nothing changed yet."""
        memory = cls()
        for name, text in parts.items():
            kind, _, key = name.partition("/")
            if kind == Kind.REQUESTS:
                memory.requests[key] = RequestMemory(**json.loads(text))
            else:
                memory._counts(Kind(kind))[key] = CountMemory(**json.loads(text))
        return memory

    @classmethod
    def from_json(cls, text: str) -> RuleMemory:
        """The memory as one JSON document, the shape it was once saved in, with every part
        changed, so that the next save writes it in parts. Facts that document kept without
        their entry count as shown before any entry."""
        raw = json.loads(text)
        memory = cls(
            requests={key: _old_request(value) for key, value in raw["requests"].items()},
            unassigned_reads={
                key: CountMemory(**value) for key, value in raw["unassigned_reads"].items()
            },
            breaches={key: CountMemory(**value) for key, value in raw["breaches"].items()},
            off_hours={
                key: CountMemory(**value) for key, value in raw.get("off_hours", {}).items()
            },
        )
        memory._changed.update(memory.names())
        return memory

    def _mark(self, kind: Kind, key: str) -> None:
        self._changed.add(f"{kind}/{key}")
        self._forgotten.discard(f"{kind}/{key}")

    def _kind(self, kind: Kind) -> dict[str, RequestMemory] | dict[str, CountMemory]:
        return self.requests if kind == Kind.REQUESTS else self._counts(kind)

    def _counts(self, kind: Kind) -> dict[str, CountMemory]:
        counts = {
            Kind.UNASSIGNED_READS: self.unassigned_reads,
            Kind.BREACHES: self.breaches,
            Kind.OFF_HOURS: self.off_hours,
        }
        return counts[kind]


_COMPACT: dict[str, Any] = {"separators": (",", ":"), "sort_keys": True}
BEFORE_ANY_ENTRY = -1


def _old_request(raw: dict[str, Any]) -> RequestMemory:
    def since_before(officers: list[str]) -> dict[str, int]:
        return dict.fromkeys(officers, BEFORE_ANY_ENTRY)

    return RequestMemory(
        last_seen=raw["last_seen"],
        service_point=raw.get("service_point"),
        opened=BEFORE_ANY_ENTRY,
        applicant_nik=raw.get("applicant_nik"),
        applicant_family_card=raw.get("applicant_family_card"),
        submitted=BEFORE_ANY_ENTRY,
        assigned=since_before(raw.get("assigned", [])),
        touched=raw.get("touched", {}),
        send_backs=raw.get("send_backs", []),
        sent_back_by=since_before(raw.get("sent_back_by", [])),
        self_dealing=since_before(raw.get("self_dealing", [])),
    )
