"""One entry of the audit log: an event as the log keeps it, at its place in the Merkle tree.

The leaf the tree commits to is the entry's canonical JSON: every field, the index included, with
keys sorted, no spaces, UTF-8. Changing any field of an entry, or moving it, changes its leaf hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from services.audit.domain import merkle


@dataclass(frozen=True)
class LogEntry:
    index: int
    """The entry's leaf index: 0 for the first entry of the log."""
    event_id: str
    event_type: str
    source: str
    subject: str
    event_time: str
    recorded_at: str
    data: dict[str, Any]
    """The event's data, with personal fields replaced by pseudonyms."""

    @property
    def sequence(self) -> int:
        """The entry's number counted from 1, so that a tree of n leaves holds entries 1 to n."""
        return self.index + 1

    def field_values(self) -> dict[str, Any]:
        """Its fields by name, `data` shared rather than copied: `asdict` copies it deeply, which
        took a third of audit's time appending a batch."""
        return dict(vars(self))

    def canonical(self) -> bytes:
        return canonical_json(self.field_values())

    def leaf_hash(self) -> bytes:
        return merkle.leaf_hash(self.canonical())

    @classmethod
    def from_fields(cls, values: object) -> LogEntry:
        """Reads an entry back from its fields; ValueError if one is missing, extra or mistyped."""
        if not isinstance(values, dict) or set(values) != _FIELDS:
            raise ValueError(f"an audit entry has exactly the fields {sorted(_FIELDS)}")
        index = values["index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError("an entry's index is a whole number from 0")
        if not isinstance(values["data"], dict):
            raise ValueError("an entry's data is an object")
        texts = _FIELDS - {"index", "data"}
        if not all(isinstance(values[name], str) for name in texts):
            raise ValueError(f"an entry's {', '.join(sorted(texts))} are text")
        return cls(**values)


_FIELDS = frozenset(field.name for field in fields(LogEntry))


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
