"""The checkpointer grows the stored tree and signs it, never twice for trees that disagree; the
proofs it serves verify against what it signed."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Collection

import pytest

from services.audit.domain.checkpoint import SignedCheckpoint, open_checkpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.merkle import (
    CompactRange,
    Subtree,
    verify_consistency,
    verify_inclusion,
)
from services.audit.domain.note import NoteVerifier
from services.audit.domain.verification import Problem
from services.audit.service_layer.tree import (
    Checkpointer,
    ProofRefused,
    consistency_proof,
    inclusion_proof,
    verify_log,
)
from tests.contracts.audit import SIGNER, log_entries
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes

VERIFIER = NoteVerifier.parse(SIGNER.verifier_key)


@dataclasses.dataclass
class Log:
    entries: FakeLogEntries = dataclasses.field(default_factory=FakeLogEntries)
    nodes: FakeTreeNodes = dataclasses.field(default_factory=FakeTreeNodes)
    checkpoints: FakeCheckpoints = dataclasses.field(default_factory=FakeCheckpoints)

    def checkpointer(
        self, max_leaves: int = 10_000, prove_from_store_every: int = 1
    ) -> Checkpointer:
        return Checkpointer(
            entries=self.entries,
            nodes=self.nodes,
            checkpoints=self.checkpoints,
            signer=SIGNER,
            max_leaves=max_leaves,
            prove_from_store_every=prove_from_store_every,
        )

    async def add(self, count: int) -> list[LogEntry]:
        start = await self.entries.size()
        added = log_entries(*(f"req-{n}" for n in range(count)), start=start)
        await self.entries.append(added)
        return added


def root_of(log: Log, size: int) -> bytes:
    tree = CompactRange()
    for index in range(size):
        tree.append(log.entries.by_index[index].leaf_hash())
    return tree.root()


async def test_nothing_is_signed_before_the_first_entry() -> None:
    log = Log()

    assert await log.checkpointer().run() is None
    assert await log.checkpoints.latest() is None


async def test_the_entries_are_signed_as_a_checkpoint_of_their_tree() -> None:
    log = Log()
    await log.add(5)

    signed = await log.checkpointer().run()

    assert signed is not None
    assert open_checkpoint(signed.note, VERIFIER) == signed
    assert (signed.size, signed.root_hash) == (5, root_of(log, 5))
    assert await log.checkpoints.latest() == signed
    assert log.nodes.hashes[Subtree(0, 4)] == log.entries.by_index[4].leaf_hash()
    assert log.nodes.hashes[Subtree(2, 0)] is not None


async def test_each_checkpoint_extends_the_one_before_and_none_is_signed_without_news() -> None:
    log = Log()
    checkpointer = log.checkpointer()
    signed: list[SignedCheckpoint] = []
    for count in (1, 2, 5, 8, 1):
        await log.add(count)
        checkpoint = await checkpointer.run()
        assert checkpoint is not None
        signed.append(checkpoint)
        assert await checkpointer.run() is None

    assert [checkpoint.size for checkpoint in signed] == [1, 3, 8, 16, 17]
    assert await log.checkpoints.history() == signed
    for earlier, later in itertools.pairwise(signed):
        proof = await consistency_proof(
            nodes=log.nodes, checkpoints=log.checkpoints, first=earlier.size, second=later.size
        )
        assert verify_consistency(
            first=earlier.size,
            second=later.size,
            first_root=earlier.root_hash,
            second_root=later.root_hash,
            proof=proof.proof,
        )


async def test_a_restarted_checkpointer_continues_from_the_stored_tree() -> None:
    log = Log()
    await log.add(6)
    await log.checkpointer().run()
    await log.add(3)

    signed = await log.checkpointer().run()

    assert signed is not None
    assert (signed.size, signed.root_hash) == (9, root_of(log, 9))


async def test_a_long_backlog_is_signed_in_steps() -> None:
    log = Log()
    await log.add(25)
    checkpointer = log.checkpointer(max_leaves=10)

    sizes = [(await checkpointer.run() or pytest.fail("not signed")).size for _ in range(3)]

    assert sizes == [10, 20, 25]
    assert (await log.checkpoints.latest() or pytest.fail("none")).root_hash == root_of(log, 25)


class SlowCheckpoints(FakeCheckpoints):
    """Every reader of the latest checkpoint reads it before any of them moves it."""

    async def latest(self) -> SignedCheckpoint | None:
        current = self.current
        await asyncio.sleep(0.01)
        return current


async def test_of_instances_signing_at_once_one_moves_the_checkpoint_and_all_agree() -> None:
    log = Log(checkpoints=SlowCheckpoints())
    instances = [log.checkpointer() for _ in range(3)]
    for count in (4, 3, 9):
        await log.add(count)
        results = await asyncio.gather(*(instance.run() for instance in instances))
        assert len([result for result in results if result is not None]) == 1

    history = await log.checkpoints.history()
    assert [checkpoint.size for checkpoint in history] == [4, 7, 16]
    assert [checkpoint.root_hash for checkpoint in history] == [
        root_of(log, size) for size in (4, 7, 16)
    ]


async def test_a_changed_stored_node_stops_signing(caplog: pytest.LogCaptureFixture) -> None:
    log = Log()
    await log.add(6)
    first = await log.checkpointer().run()
    log.nodes.hashes[Subtree(1, 2)] = b"\x00" * 32
    await log.add(2)

    with caplog.at_level(logging.ERROR):
        assert await log.checkpointer().run() is None

    assert await log.checkpoints.latest() == first
    assert "no longer gives checkpoint 6" in caplog.text


async def test_a_checkpoint_whose_nodes_are_gone_stops_signing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = Log()
    await log.add(3)
    await log.checkpointer().run()
    del log.nodes.hashes[Subtree(0, 2)]
    await log.add(1)

    with caplog.at_level(logging.ERROR):
        assert await log.checkpointer().run() is None

    assert "lacks nodes of checkpoint 3" in caplog.text


async def test_stored_nodes_that_disagree_with_the_new_entries_stop_signing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nodes left from entries that were then replaced: the tree would no longer be one tree."""
    log = Log()
    await log.add(3)
    first = await log.checkpointer().run()
    log.nodes.hashes[Subtree(0, 3)] = b"\x00" * 32
    await log.add(1)

    with caplog.at_level(logging.ERROR):
        assert await log.checkpointer().run() is None

    assert await log.checkpoints.latest() == first
    assert "other hashes: [Subtree(level=0, index=3)]" in caplog.text


async def test_a_node_changed_under_a_running_checkpointer_stops_its_signing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The checkpointer keeps the tree it signed last, but proves new ones from the store."""
    log = Log()
    checkpointer = log.checkpointer()
    await log.add(6)
    first = await checkpointer.run()
    log.nodes.hashes[Subtree(1, 2)] = b"\x00" * 32
    await log.add(2)

    with caplog.at_level(logging.ERROR):
        assert await checkpointer.run() is None

    assert await log.checkpoints.latest() == first
    assert "the tree of 8 leaves does not extend checkpoint 6" in caplog.text


class MisreadingTreeNodes(FakeTreeNodes):
    """Stores what it is given, but reads one node back wrong."""

    async def get(self, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
        found = await super().get(subtrees)
        if Subtree(0, 3) in found:
            found[Subtree(0, 3)] = b"\x00" * 32
        return found


async def test_a_tree_the_stored_nodes_do_not_prove_to_extend_the_signed_one_is_not_signed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = Log(nodes=MisreadingTreeNodes())
    await log.add(3)
    first = await log.checkpointer().run()
    await log.add(1)

    with caplog.at_level(logging.ERROR):
        assert await log.checkpointer().run() is None

    assert await log.checkpoints.latest() == first
    assert "the tree of 4 leaves does not extend checkpoint 3" in caplog.text


async def test_every_leaf_has_an_inclusion_proof_in_every_signed_tree() -> None:
    log = Log()
    signed = []
    for count in (3, 4, 6):
        await log.add(count)
        signed.append(await log.checkpointer().run() or pytest.fail("not signed"))

    for checkpoint in signed:
        for index in range(checkpoint.size):
            proof = await inclusion_proof(
                nodes=log.nodes, checkpoints=log.checkpoints, index=index, tree_size=checkpoint.size
            )
            assert proof.leaf_hash == log.entries.by_index[index].leaf_hash()
            assert verify_inclusion(
                index=index,
                size=checkpoint.size,
                leaf=proof.leaf_hash,
                proof=proof.proof,
                root=checkpoint.root_hash,
            )


async def test_proofs_default_to_the_latest_checkpoint() -> None:
    log = Log()
    await log.add(7)
    latest = await log.checkpointer().run() or pytest.fail("not signed")

    inclusion = await inclusion_proof(
        nodes=log.nodes, checkpoints=log.checkpoints, index=2, tree_size=None
    )
    consistency = await consistency_proof(
        nodes=log.nodes, checkpoints=log.checkpoints, first=3, second=None
    )

    assert inclusion.tree_size == consistency.second == latest.size
    assert verify_consistency(
        first=3,
        second=7,
        first_root=root_of(log, 3),
        second_root=latest.root_hash,
        proof=consistency.proof,
    )


@pytest.mark.parametrize(
    ("index", "tree_size", "field", "reason"),
    [
        (0, 6, "tree_size", "Paling besar 5"),
        (5, 5, "index", "indeks 0 sampai 4"),
        (9, None, "index", "indeks 0 sampai 4"),
    ],
)
async def test_inclusion_beyond_the_signed_tree_is_refused(
    index: int, tree_size: int | None, field: str, reason: str
) -> None:
    log = Log()
    await log.add(5)
    await log.checkpointer().run()
    await log.add(3)

    with pytest.raises(ProofRefused) as refusal:
        await inclusion_proof(
            nodes=log.nodes, checkpoints=log.checkpoints, index=index, tree_size=tree_size
        )

    assert refusal.value.field == field
    assert reason in refusal.value.reason


async def test_consistency_beyond_the_signed_tree_is_refused() -> None:
    log = Log()
    await log.add(5)
    await log.checkpointer().run()

    with pytest.raises(ProofRefused) as beyond:
        await consistency_proof(nodes=log.nodes, checkpoints=log.checkpoints, first=2, second=6)
    with pytest.raises(ProofRefused) as backwards:
        await consistency_proof(nodes=log.nodes, checkpoints=log.checkpoints, first=6, second=None)

    assert (beyond.value.field, backwards.value.field) == ("second", "first")


async def test_no_proof_before_the_first_checkpoint() -> None:
    log = Log()
    await log.add(2)

    with pytest.raises(ProofRefused, match="Belum ada checkpoint"):
        await inclusion_proof(nodes=log.nodes, checkpoints=log.checkpoints, index=0, tree_size=1)


class CountingReads(FakeLogEntries):
    def __init__(self) -> None:
        super().__init__()
        self.read: list[int] = []

    async def at(self, indexes: Collection[int]) -> dict[int, LogEntry]:
        self.read += indexes
        return await super().at(indexes)


async def test_leaves_handed_over_are_not_read_back_and_the_others_are() -> None:
    entries = CountingReads()
    log = Log(entries=entries)
    checkpointer = log.checkpointer()
    ours = log_entries("a", "b", "c")
    theirs = log_entries("d", "e", start=3)
    await log.entries.append([*ours, *theirs])
    checkpointer.appended(ours)

    signed = await checkpointer.run()

    assert signed is not None
    assert signed.root_hash == root_of(log, 5)
    assert entries.read == [3, 4]


class CountingNodeReads(FakeTreeNodes):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, subtrees: Collection[Subtree]) -> dict[Subtree, bytes]:
        self.reads += len(subtrees)
        return await super().get(subtrees)


class CountingLatest(FakeCheckpoints):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def latest(self) -> SignedCheckpoint | None:
        self.reads += 1
        return await super().latest()


async def test_a_running_checkpointer_reads_the_store_only_for_every_nth_proof() -> None:
    nodes, checkpoints = CountingNodeReads(), CountingLatest()
    log = Log(nodes=nodes, checkpoints=checkpoints)
    checkpointer = log.checkpointer(prove_from_store_every=3)
    reads = []
    for _ in range(7):
        added = await log.add(5)
        checkpointer.appended(added)
        assert await checkpointer.run() is not None
        reads.append(nodes.reads)
        assert await checkpointer.run() is None

    assert checkpoints.reads == 1
    assert reads[0] == reads[1] == reads[2] == 0
    assert reads[3] > 0
    assert reads[3] == reads[4] == reads[5]
    assert reads[6] > reads[5]


async def test_a_wrong_leaf_handed_over_for_a_stored_tree_is_caught_by_the_verification() -> None:
    """What is signed is what was handed over; the entries in the store are checked against it."""
    log = Log()
    [entry] = log_entries("a")
    await log.entries.append([entry])
    checkpointer = log.checkpointer()
    checkpointer.appended([dataclasses.replace(entry, subject="b")])

    assert await checkpointer.run() is not None
    report = await verify_log(
        entries=log.entries, nodes=log.nodes, checkpoints=log.checkpoints, verifier=VERIFIER
    )

    assert [(finding.problem, finding.index) for finding in report.findings] == [
        (Problem.EDITED, 0),
        (Problem.ROOT_MISMATCH, 0),
    ]
