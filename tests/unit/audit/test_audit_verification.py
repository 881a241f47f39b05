"""Checking a copy of the log names every index where it was tampered with: in an export, and in
the stored log itself."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.domain.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from services.audit.domain.merkle import CompactRange
from services.audit.domain.note import NoteSigner, NoteVerifier
from services.audit.domain.verification import (
    ExportedCheckpoint,
    ExportedEntry,
    Finding,
    LogVerifier,
    Problem,
    Record,
    Report,
)
from services.audit.service_layer.tree import Checkpointer, export_log, verify_log
from tests.contracts.audit import ORIGIN, SIGNER, log_entries
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes

VERIFIER = NoteVerifier.parse(SIGNER.verifier_key)
CHECKPOINT_SIZES = (2, 5, 6, 10)


@dataclasses.dataclass
class StoredLog:
    entries: FakeLogEntries
    nodes: FakeTreeNodes
    checkpoints: FakeCheckpoints

    async def export(self) -> list[Record]:
        return [
            record
            async for record in export_log(
                entries=self.entries, nodes=self.nodes, checkpoints=self.checkpoints
            )
        ]

    async def verify(self) -> Report:
        return await verify_log(
            entries=self.entries, nodes=self.nodes, checkpoints=self.checkpoints, verifier=VERIFIER
        )


@pytest.fixture
async def stored() -> StoredLog:
    """Ten entries with checkpoints at sizes 2, 5, 6 and 10."""
    log = StoredLog(FakeLogEntries(), FakeTreeNodes(), FakeCheckpoints())
    checkpointer = Checkpointer(
        entries=log.entries, nodes=log.nodes, checkpoints=log.checkpoints, signer=SIGNER
    )
    previous = 0
    for size in CHECKPOINT_SIZES:
        subjects = [f"req-{index}" for index in range(previous, size)]
        await log.entries.append(log_entries(*subjects, start=previous))
        await checkpointer.run()
        previous = size
    return log


def verified(records: list[Record]) -> Report:
    checker = LogVerifier(VERIFIER)
    for record in records:
        checker.take(record)
    return checker.report()


def problems(report: Report) -> list[tuple[Problem, int | None, int | None, int | None]]:
    return [
        (finding.problem, finding.index, finding.through, finding.tree_size)
        for finding in report.findings
    ]


def entry_position(records: list[Record], index: int) -> int:
    return next(
        position
        for position, record in enumerate(records)
        if isinstance(record, ExportedEntry) and record.entry.index == index
    )


def edited(record: Record) -> ExportedEntry:
    assert isinstance(record, ExportedEntry)
    entry = dataclasses.replace(record.entry, data={**record.entry.data, "n": "changed"})
    return dataclasses.replace(record, entry=entry)


async def test_an_intact_export_verifies(stored: StoredLog) -> None:
    records = await stored.export()

    report = verified(records)

    assert report.valid, report.findings
    assert (report.entries, report.tree_size, report.uncovered) == (10, 10, 0)
    assert [type(record).__name__ for record in records] == ["ExportedCheckpoint"] * 4 + [
        "ExportedEntry"
    ] * 10


async def test_entries_after_the_latest_checkpoint_are_checked_but_uncovered(
    stored: StoredLog,
) -> None:
    await stored.entries.append(log_entries("late-1", "late-2", start=10))

    report = verified(await stored.export())

    assert report.valid
    assert (report.entries, report.tree_size, report.uncovered) == (12, 10, 2)


async def test_an_edited_entry_is_named_and_so_is_the_checkpoint_it_breaks(
    stored: StoredLog,
) -> None:
    records = await stored.export()
    position = entry_position(records, 3)
    records[position] = edited(records[position])

    report = verified(records)

    assert problems(report) == [
        (Problem.EDITED, 3, None, None),
        (Problem.ROOT_MISMATCH, 2, None, 5),
    ]
    assert report.tree_size == 2
    # The entries after it are in checkpoints that no longer match: not unsigned ones.
    assert (report.checkpoints, report.uncovered) == (4, 0)


async def test_an_entry_rewritten_with_its_leaf_hash_is_found_between_two_checkpoints(
    stored: StoredLog,
) -> None:
    records = await stored.export()
    position = entry_position(records, 5)
    rewritten = edited(records[position])
    records[position] = dataclasses.replace(
        rewritten, recorded_leaf_hash=rewritten.entry.leaf_hash()
    )

    report = verified(records)

    assert problems(report) == [(Problem.ROOT_MISMATCH, 5, None, 6)]
    assert "berindeks 5 sampai 5" in report.findings[0].detail


async def test_a_deleted_entry_is_named(stored: StoredLog) -> None:
    records = await stored.export()
    del records[entry_position(records, 7)]

    report = verified(records)

    assert problems(report) == [(Problem.MISSING, 7, 7, None)]
    assert report.tree_size == 6


async def test_the_deleted_tail_of_a_log_is_named_as_one_run(stored: StoredLog) -> None:
    records = await stored.export()
    records = records[: entry_position(records, 6)]

    assert problems(verified(records)) == [(Problem.MISSING, 6, 9, None)]


async def test_reordered_entries_are_named(stored: StoredLog) -> None:
    records = await stored.export()
    four, five = entry_position(records, 4), entry_position(records, 5)
    records[four], records[five] = records[five], records[four]

    report = verified(records)

    assert problems(report) == [(Problem.OUT_OF_ORDER, 4, None, None)]


async def test_inserted_entries_are_named(stored: StoredLog) -> None:
    records = await stored.export()
    copied = records[entry_position(records, 2)]
    assert isinstance(copied, ExportedEntry)
    forged = dataclasses.replace(copied.entry, index=8, event_id="evt-forged")
    repeated_event = dataclasses.replace(copied.entry, index=10)
    records.insert(entry_position(records, 9), ExportedEntry(forged, forged.leaf_hash()))
    records.append(ExportedEntry(repeated_event, None))

    report = verified(records)

    assert problems(report) == [
        (Problem.DUPLICATE, 8, None, None),
        (Problem.DUPLICATE, 10, None, None),
    ]
    assert "tercatat pada indeks 2" in report.findings[1].detail


def forged(size: int, root: bytes = b"\x42" * 32, signer: NoteSigner = SIGNER) -> SignedCheckpoint:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)


async def test_a_forked_checkpoint_is_named(stored: StoredLog) -> None:
    """Signed with the log's own key, but for a tree that is not the log's."""
    records = await stored.export()
    records[2] = ExportedCheckpoint(forged(6).note, records[2].consistency_proof)  # type: ignore[union-attr]

    report = verified(records)

    assert problems(report) == [(Problem.FORKED, None, None, 6)]
    assert report.valid is False
    assert report.tree_size == 10


async def test_a_checkpoint_not_signed_by_the_logs_key_is_named(stored: StoredLog) -> None:
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    records = await stored.export()
    records[1] = ExportedCheckpoint(forged(5, signer=impostor).note, [])

    report = verified(records)

    assert [finding.problem for finding in report.findings] == [Problem.BAD_CHECKPOINT]
    assert "tidak ada tanda tangan" in report.findings[0].detail


async def test_checkpoints_out_of_order_or_twice_at_one_size_with_two_roots_are_named(
    stored: StoredLog,
) -> None:
    records = await stored.export()
    checkpoints = records[:4]

    swapped = verified([checkpoints[1], checkpoints[0], *records[4:]])
    twice = verified([*checkpoints, ExportedCheckpoint(forged(10).note, []), *records[4:]])

    assert problems(swapped) == [(Problem.BAD_CHECKPOINT, None, None, 2)]
    assert problems(twice) == [(Problem.FORKED, None, None, 10)]


async def test_a_stored_log_verifies(stored: StoredLog) -> None:
    report = await stored.verify()

    assert report.valid
    assert report.root_hash == (await stored.checkpoints.latest() or pytest.fail("none")).root_hash


async def test_an_entry_edited_in_the_store_is_named(stored: StoredLog) -> None:
    entry = stored.entries.by_index[4]
    stored.entries.by_index[4] = dataclasses.replace(entry, subject="someone-else")

    report = await stored.verify()

    assert problems(report)[0] == (Problem.EDITED, 4, None, None)


async def test_an_entry_deleted_from_the_store_is_named(stored: StoredLog) -> None:
    del stored.entries.by_index[3]

    assert problems(await stored.verify()) == [(Problem.MISSING, 3, 3, None)]


async def test_entries_swapped_in_the_store_are_named(stored: StoredLog) -> None:
    three, six = stored.entries.by_index[3], stored.entries.by_index[6]
    stored.entries.by_index[3] = dataclasses.replace(six, index=3)
    stored.entries.by_index[6] = dataclasses.replace(three, index=6)

    report = await stored.verify()

    assert problems(report)[:2] == [
        (Problem.MOVED, 3, 3, None),
        (Problem.MOVED, 6, 6, None),
    ]
    assert "+3 posisi" in report.findings[0].detail
    assert "-3 posisi" in report.findings[1].detail


async def test_an_entry_inserted_into_the_store_is_named(stored: StoredLog) -> None:
    """The stored log keys entries by index, so an insertion moves every later entry up."""
    for index in range(10, 4, -1):
        moved = stored.entries.by_index[index - 1]
        stored.entries.by_index[index] = dataclasses.replace(moved, index=index)
    [forged_entry] = log_entries("req-forged", start=5)
    stored.entries.by_index[5] = dataclasses.replace(forged_entry, event_id="evt-forged")

    report = await stored.verify()

    assert problems(report)[:2] == [
        (Problem.INSERTED, 5, None, None),
        (Problem.MOVED, 6, 9, None),
    ]
    assert "-1 posisi" in report.findings[1].detail


async def test_an_entry_removed_from_the_store_with_the_rest_moved_down_is_named(
    stored: StoredLog,
) -> None:
    for index in range(4, 9):
        stored.entries.by_index[index] = dataclasses.replace(
            stored.entries.by_index[index + 1], index=index
        )
    del stored.entries.by_index[9]

    report = await stored.verify()

    assert problems(report)[:3] == [
        (Problem.MISSING, 4, None, None),
        (Problem.MOVED, 4, 8, None),
        (Problem.MISSING, 9, 9, None),
    ]


async def test_a_checkpoint_forked_in_the_store_is_named(stored: StoredLog) -> None:
    fork = forged(5)
    stored.checkpoints.by_size[5] = fork

    report = await stored.verify()

    assert (Problem.FORKED, None, None, 5) in problems(report)


def test_the_findings_of_an_empty_copy() -> None:
    report = LogVerifier(VERIFIER).report()

    assert report == Report(
        entries=0, checkpoints=0, tree_size=0, root_hash=None, uncovered=0, findings=[]
    )


def test_entries_alone_are_checked_against_their_recorded_leaves() -> None:
    entries = log_entries("a", "b", "c")
    checker = LogVerifier(VERIFIER)
    for entry in entries:
        checker.entry(ExportedEntry(entry, entry.leaf_hash()))
    tree = CompactRange()
    for entry in entries:
        tree.append(entry.leaf_hash())
    checker.checkpoint(ExportedCheckpoint(forged(3, tree.root()).note, []))

    report = checker.report()

    assert report.valid
    assert (report.tree_size, report.root_hash) == (3, tree.root())
    assert report.findings == list[Finding]()


async def test_a_checkpoint_left_out_of_the_copy_is_named_and_not_taken_for_a_fork(
    stored: StoredLog,
) -> None:
    records = await stored.export()
    without_six = [
        record
        for record in records
        if not (isinstance(record, ExportedCheckpoint) and "\n6\n" in record.note)
    ]
    assert len(without_six) == len(records) - 1

    report = verified(without_six)

    assert problems(report) == [(Problem.MISSING_CHECKPOINT, None, None, 10)]
    assert (report.checkpoints, report.tree_size, report.uncovered) == (3, 10, 0)
    assert "di antara checkpoint 5 dan 10" in report.findings[0].detail
