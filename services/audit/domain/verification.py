"""Checking a copy of the whole log, entries and checkpoints, and saying where it was tampered with.

What is checked, with nothing trusted but the verifier key:
- every checkpoint's signature, and that each one extends the one before (its consistency proof);
- every entry's content against the leaf hash the tree recorded for its index (edited entries), and
  the indexes themselves (missing, repeated or out of order);
- that the entries, hashed again, give the root of every checkpoint: whatever was rewritten
  together with its recorded leaf hash still shows as a root that does not match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from services.audit.domain.checkpoint import SignedCheckpoint, open_checkpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.merkle import CompactRange, verify_consistency
from services.audit.domain.note import InvalidNote, NoteVerifier

MAX_MOVE_CANDIDATES = 64
"""Entries whose content and leaf disagree that are tried against one another as moved ones."""


class Problem(StrEnum):
    EDITED = "edited"
    """The entry's content does not hash to the leaf the tree recorded at its index."""
    MOVED = "moved"
    """The entry at this index is the one the tree recorded at another index."""
    INSERTED = "inserted"
    """An entry the tree never recorded, with the entries after it moved up by one."""
    MISSING = "missing"
    """No entry at this index, though later ones or a checkpoint say it exists."""
    DUPLICATE = "duplicate"
    """A second entry at one index, or an entry repeating an event logged at another index."""
    OUT_OF_ORDER = "out_of_order"
    """The entry comes after one with a higher index."""
    UNREADABLE = "unreadable"
    """A record of the copy that is neither an entry nor a checkpoint."""
    BAD_CHECKPOINT = "bad_checkpoint"
    """A checkpoint that is malformed, not signed by the log's key, or out of order."""
    FORKED = "forked"
    """A signed checkpoint that does not extend the checkpoint before it."""
    MISSING_CHECKPOINT = "missing_checkpoint"
    """A checkpoint the entries agree with, whose proof extends one the copy does not hold."""
    ROOT_MISMATCH = "root_mismatch"
    """The entries up to a checkpoint's size do not hash to its root."""


@dataclass(frozen=True)
class Finding:
    problem: Problem
    detail: str
    index: int | None = None
    """The leaf index of the entry it is about; for a root mismatch, the first index it covers."""
    through: int | None = None
    """The last index of a run of entries with the same problem."""
    tree_size: int | None = None
    """The size of the checkpoint it is about."""


@dataclass(frozen=True)
class ExportedCheckpoint:
    note: str
    consistency_proof: Sequence[bytes]
    """Proves that this checkpoint extends the one before it in the copy (empty for the first)."""


@dataclass(frozen=True)
class ExportedEntry:
    entry: LogEntry
    recorded_leaf_hash: bytes | None
    """The leaf hash the tree holds at the entry's index; none if the tree does not hold it yet."""


@dataclass(frozen=True)
class ExportedLeaf:
    """A leaf the tree recorded at an index where the log has no entry."""

    index: int
    recorded_leaf_hash: bytes


Record = ExportedCheckpoint | ExportedEntry | ExportedLeaf
"""One record of a copy of the log."""


@dataclass(frozen=True)
class Report:
    entries: int
    checkpoints: int
    """How many checkpoints verified: signed by the log's key, each extending the one before."""
    tree_size: int
    """The size of the latest checkpoint that verified; 0 if none did."""
    root_hash: bytes | None
    uncovered: int
    """Entries after the latest checkpoint: checked against their leaves, not yet signed."""
    findings: list[Finding]

    @property
    def valid(self) -> bool:
        return not self.findings


class LogVerifier:
    """Takes a copy of the log record by record, in any order, then reports what it found."""

    def __init__(self, verifier: NoteVerifier) -> None:
        self._verifier = verifier
        self._findings: list[Finding] = []
        self._checkpoints: list[SignedCheckpoint] = []
        self._unlinked: dict[int, int] = {}
        """Checkpoints whose proof does not extend the one before them in the copy, by size,
        with that one's size: the entries decide between a fork and a checkpoint left out."""
        self._previous_in_copy: SignedCheckpoint | None = None
        self._leaves: dict[int, bytes] = {}
        self._events: dict[str, int] = {}
        self._mismatched: dict[int, ExportedEntry] = {}
        self._orphans: dict[int, bytes] = {}
        self._highest_index = -1

    def take(self, record: Record) -> None:
        if isinstance(record, ExportedCheckpoint):
            self.checkpoint(record)
        elif isinstance(record, ExportedEntry):
            self.entry(record)
        else:
            self.leaf_without_entry(record)

    def checkpoint(self, exported: ExportedCheckpoint) -> None:
        """Takes the next checkpoint of the copy; its proof is checked against the checkpoint
        before it in the copy, unless that one was refused (then the entries' roots decide)."""
        previous, self._previous_in_copy = self._previous_in_copy, None
        try:
            signed = open_checkpoint(exported.note, self._verifier)
        except InvalidNote as exc:
            self._found(Problem.BAD_CHECKPOINT, f"checkpoint tidak sah: {exc}")
            return
        last = self._checkpoints[-1] if self._checkpoints else None
        if last is not None and signed.size <= last.size:
            if signed.size == last.size and signed.root_hash == last.root_hash:
                self._previous_in_copy = signed
                return
            self._found(
                Problem.FORKED if signed.size == last.size else Problem.BAD_CHECKPOINT,
                f"checkpoint {signed.size} muncul sesudah checkpoint {last.size}",
                tree_size=signed.size,
            )
            return
        if previous is not None and not verify_consistency(
            first=previous.size,
            second=signed.size,
            first_root=previous.root_hash,
            second_root=signed.root_hash,
            proof=exported.consistency_proof,
        ):
            self._unlinked[signed.size] = previous.size
        self._checkpoints.append(signed)
        self._previous_in_copy = signed

    def entry(self, exported: ExportedEntry) -> None:
        entry = exported.entry
        if entry.index in self._leaves:
            self._found(Problem.DUPLICATE, "entri kedua pada indeks ini", index=entry.index)
            return
        if entry.index < self._highest_index:
            self._found(
                Problem.OUT_OF_ORDER,
                f"muncul sesudah entri berindeks {self._highest_index}",
                index=entry.index,
            )
        self._highest_index = max(self._highest_index, entry.index)
        leaf = entry.leaf_hash()
        self._leaves[entry.index] = leaf
        if exported.recorded_leaf_hash is not None and exported.recorded_leaf_hash != leaf:
            self._mismatched[entry.index] = exported
        logged_at = self._events.setdefault(entry.event_id, entry.index)
        if logged_at != entry.index:
            self._found(
                Problem.DUPLICATE,
                f"mengulang peristiwa yang tercatat pada indeks {logged_at}",
                index=entry.index,
            )

    def leaf_without_entry(self, leaf: ExportedLeaf) -> None:
        """Takes a leaf the tree holds for an entry the copy lacks: the entry shows as missing,
        and an entry moved from there is told apart from an edited one."""
        self._orphans[leaf.index] = leaf.recorded_leaf_hash
        self._highest_index = max(self._highest_index, leaf.index)

    def unreadable(self, where: str, reason: str) -> None:
        self._found(Problem.UNREADABLE, f"{where}: {reason}")

    def report(self) -> Report:
        findings = [*self._findings, *self._entry_findings(), *self._missing()]
        forked = self._forks(findings)
        linked = [c for c in self._checkpoints if c.size not in forked]
        matched = self._matched_checkpoints(linked, findings)
        latest = matched[-1] if matched else None
        signed_size = linked[-1].size if linked else 0
        findings.sort(key=_position)
        return Report(
            entries=len(self._leaves),
            checkpoints=len(linked),
            tree_size=latest.size if latest else 0,
            root_hash=latest.root_hash if latest else None,
            uncovered=sum(1 for index in self._leaves if index >= signed_size),
            findings=findings,
        )

    def _forks(self, findings: list[Finding]) -> set[int]:
        """Sizes of the checkpoints whose proof does not extend the one before them and whose
        root the entries do not give: forks. One the entries agree with is the log's, and the
        checkpoint its proof extends was left out of the copy."""
        forks: set[int] = set()
        for size, previous in sorted(self._unlinked.items()):
            checkpoint = next(c for c in self._checkpoints if c.size == size)
            if self._root_of(size) == checkpoint.root_hash:
                if previous in forks:
                    continue  # its proof was checked against a fork, not the log
                findings.append(
                    Finding(
                        Problem.MISSING_CHECKPOINT,
                        f"checkpoint {size} melanjutkan checkpoint yang tidak ada di salinan, "
                        f"di antara checkpoint {previous} dan {size}",
                        tree_size=size,
                    )
                )
                continue
            forks.add(size)
            findings.append(
                Finding(
                    Problem.FORKED,
                    f"checkpoint {size} tidak melanjutkan checkpoint {previous}",
                    tree_size=size,
                )
            )
        return forks

    def _root_of(self, size: int) -> bytes | None:
        """The root the entries give at `size`, if the copy holds all of them."""
        tree = CompactRange()
        while tree.size < size and tree.size in self._leaves:
            tree.append(self._leaves[tree.size])
        return tree.root() if tree.size == size else None

    def _found(
        self,
        problem: Problem,
        detail: str,
        *,
        index: int | None = None,
        tree_size: int | None = None,
    ) -> None:
        self._findings.append(Finding(problem, detail, index=index, tree_size=tree_size))

    def _missing(self) -> list[Finding]:
        end = max(self._highest_index + 1, max((c.size for c in self._checkpoints), default=0))
        gaps = [index for index in range(end) if index not in self._leaves]
        return [
            Finding(Problem.MISSING, "entri tidak ada", index=first, through=last)
            for first, last in _runs(gaps)
        ]

    def _entry_findings(self) -> list[Finding]:
        """Each entry whose content and recorded leaf disagree: moved from another index, part of
        an insertion (a new entry, the ones after it moved up by one) or else edited."""
        pool = sorted(self._mismatched)[:MAX_MOVE_CANDIDATES]
        origins = {index: self._recorded_at(index, pool) for index in self._mismatched}
        held = set(origins.values())
        edited: list[int] = []
        inserted: list[int] = []
        gone: list[int] = []
        moved: dict[int, list[int]] = {}
        for index, origin in sorted(origins.items()):
            if origin is None:
                (inserted if origins.get(index + 1) == index else edited).append(index)
                continue
            moved.setdefault(origin - index, []).append(index)
            if origin == index + 1 and index not in held:
                gone.append(index)
        findings = [
            *(Finding(Problem.EDITED, _EDITED, index=index) for index in edited),
            *(Finding(Problem.INSERTED, _INSERTED, index=index) for index in inserted),
            *(Finding(Problem.MISSING, _GONE, index=index) for index in gone),
        ]
        for offset, indexes in moved.items():
            for first, last in _runs(indexes):
                detail = f"berisi entri yang dicatat pohon {offset:+d} posisi dari sini"
                findings.append(Finding(Problem.MOVED, detail, index=first, through=last))
        return findings

    def _recorded_at(self, index: int, pool: Sequence[int]) -> int | None:
        """The other index whose recorded leaf the entry now at `index` matches, if any."""
        entry = self._mismatched[index].entry
        for other in (index - 1, index + 1, *pool):
            if other == index or other < 0:
                continue
            recorded = self._recorded_leaf(other)
            if recorded is not None and recorded == (
                dataclasses.replace(entry, index=other).leaf_hash()
            ):
                return other
        return None

    def _recorded_leaf(self, index: int) -> bytes | None:
        if index in self._mismatched:
            return self._mismatched[index].recorded_leaf_hash
        return self._leaves.get(index, self._orphans.get(index))

    def _matched_checkpoints(
        self, checkpoints: list[SignedCheckpoint], findings: list[Finding]
    ) -> list[SignedCheckpoint]:
        """The checkpoints whose roots the entries give again; a finding for the first that
        fails."""
        matched: list[SignedCheckpoint] = []
        tree = CompactRange()
        for checkpoint in checkpoints:
            while tree.size < checkpoint.size and tree.size in self._leaves:
                tree.append(self._leaves[tree.size])
            if tree.size < checkpoint.size:
                break
            if tree.root() == checkpoint.root_hash:
                matched.append(checkpoint)
                continue
            since = matched[-1].size if matched else 0
            findings.append(
                Finding(
                    Problem.ROOT_MISMATCH,
                    f"entri berindeks {since} sampai {checkpoint.size - 1} tidak menghasilkan "
                    f"hash akar checkpoint {checkpoint.size}",
                    index=since,
                    tree_size=checkpoint.size,
                )
            )
            break
        return matched


_EDITED = "isinya tidak cocok dengan hash daun yang dicatat pohon"
_INSERTED = "entri yang tidak pernah dicatat pohon; entri sesudahnya bergeser naik satu"
_GONE = "entri yang dicatat pohon di sini hilang; entri sesudahnya bergeser turun satu"


def _runs(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending indexes as (first, last) of each run of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for index in indexes:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _position(finding: Finding) -> tuple[bool, int, int]:
    """Entries' findings by index, then checkpoints' by tree size."""
    index = -1 if finding.index is None else finding.index
    return finding.tree_size is not None, finding.tree_size or 0, index
