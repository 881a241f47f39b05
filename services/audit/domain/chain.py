"""The audit log as a hash chain: each entry commits to its content and to the entry before it.

Changing, removing or reordering any entry breaks every hash after it, which `verify` detects.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    sequence: int
    event_id: str
    event_type: str
    source: str
    subject: str
    event_time: str
    recorded_at: str
    data: dict[str, Any]
    previous_hash: str
    entry_hash: str


@dataclass(frozen=True)
class ChainVerification:
    valid: bool
    entries: int
    head_hash: str
    first_invalid_sequence: int | None = None


def _hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _content(entry: AuditEntry) -> dict[str, Any]:
    content = asdict(entry)
    del content["entry_hash"]
    return content


def next_entry(
    previous: AuditEntry | None,
    *,
    event_id: str,
    event_type: str,
    source: str,
    subject: str,
    event_time: str,
    recorded_at: str,
    data: dict[str, Any],
) -> AuditEntry:
    """The entry that follows `previous` (or starts the log), with its hash computed."""
    unhashed = AuditEntry(
        sequence=1 if previous is None else previous.sequence + 1,
        event_id=event_id,
        event_type=event_type,
        source=source,
        subject=subject,
        event_time=event_time,
        recorded_at=recorded_at,
        data=data,
        previous_hash=GENESIS_HASH if previous is None else previous.entry_hash,
        entry_hash="",
    )
    return AuditEntry(**{**asdict(unhashed), "entry_hash": _hash(_content(unhashed))})


class ChainVerifier:
    """Checks numbering, links and hashes entry by entry, from the first on."""

    def __init__(self) -> None:
        self._entries = 0
        self._head_hash = GENESIS_HASH
        self._first_invalid: int | None = None

    def check(self, entry: AuditEntry) -> bool:
        """Takes the next entry; False (and no further checks) once the chain is broken."""
        if self._first_invalid is not None:
            return False
        expected_sequence = self._entries + 1
        if (
            entry.sequence != expected_sequence
            or entry.previous_hash != self._head_hash
            or entry.entry_hash != _hash(_content(entry))
        ):
            self._first_invalid = expected_sequence
            return False
        self._entries = expected_sequence
        self._head_hash = entry.entry_hash
        return True

    def result(self) -> ChainVerification:
        return ChainVerification(
            valid=self._first_invalid is None,
            entries=self._entries,
            head_hash=self._head_hash,
            first_invalid_sequence=self._first_invalid,
        )
