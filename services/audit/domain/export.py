"""The log's export format: JSON lines, one checkpoint or one entry each.

    {"checkpoint": "<signed note>", "consistency_proof": ["<base64 hash>", ...]}
    {"entry": {"index": 0, "event_id": ..., "data": {...}}, "leaf_hash": "<base64 hash>" | null}
    {"missing_entry": 7, "leaf_hash": "<base64 hash>"}

Checkpoints come first, by tree size, each with the proof that it extends the one before; then the
entries by index, each with the leaf hash the tree recorded for its index (none if the tree does
not hold it yet), and for an index where the log lost its entry, the leaf the tree recorded.
"""

from __future__ import annotations

import base64
import binascii
import json

from services.audit.domain.entry import LogEntry
from services.audit.domain.verification import (
    ExportedCheckpoint,
    ExportedEntry,
    ExportedLeaf,
    Record,
)


def to_line(record: Record) -> str:
    if isinstance(record, ExportedCheckpoint):
        fields: dict[str, object] = {
            "checkpoint": record.note,
            "consistency_proof": [_encode(hash_) for hash_ in record.consistency_proof],
        }
    elif isinstance(record, ExportedEntry):
        recorded = record.recorded_leaf_hash
        fields = {
            "entry": record.entry.field_values(),
            "leaf_hash": None if recorded is None else _encode(recorded),
        }
    else:
        fields = {"missing_entry": record.index, "leaf_hash": _encode(record.recorded_leaf_hash)}
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n"


def from_line(line: str) -> Record:
    """One record of an export; ValueError saying what is wrong with it."""
    try:
        fields = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    if not isinstance(fields, dict):
        raise ValueError("not a JSON object")
    if set(fields) == {"checkpoint", "consistency_proof"}:
        note, proof = fields["checkpoint"], fields["consistency_proof"]
        if not isinstance(note, str) or not isinstance(proof, list):
            raise ValueError("a checkpoint is a note with a list of hashes")
        return ExportedCheckpoint(note, [_decode(hash_) for hash_ in proof])
    if set(fields) == {"entry", "leaf_hash"}:
        recorded = fields["leaf_hash"]
        return ExportedEntry(
            LogEntry.from_fields(fields["entry"]),
            None if recorded is None else _decode(recorded),
        )
    if set(fields) == {"missing_entry", "leaf_hash"}:
        index = fields["missing_entry"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError("a missing entry's index is a whole number from 0")
        return ExportedLeaf(index, _decode(fields["leaf_hash"]))
    raise ValueError("neither a checkpoint nor an entry")


def _encode(hash_: bytes) -> str:
    return base64.b64encode(hash_).decode()


def _decode(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("a hash is base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("a hash is base64 text") from None
