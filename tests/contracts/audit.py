"""What every implementation of audit's ports must do, fake or MongoDB alike.

Each class is abstract: a subclass named `Test…` provides a function-scoped `repository` fixture
holding an empty store.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.domain.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.merkle import Subtree
from services.audit.domain.note import NoteSigner
from services.audit.service_layer.ports import (
    CheckpointStore,
    LogEntries,
    TreeIntegrityError,
    TreeNodes,
)
from shared.events.models.requests import RequestSubmitted
from tests.builders import T0

ORIGIN = "adminduk.test/audit"
SIGNER = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))


def log_entries(
    *subjects: str, start: int = 0, data: dict[str, Any] | None = None
) -> list[LogEntry]:
    """One entry per subject from index `start`, event ids `evt-<index>`."""
    return [
        LogEntry(
            index=index,
            event_id=f"evt-{index}",
            event_type=RequestSubmitted.event_type,
            source="/adminduk/intake",
            subject=subject,
            event_time=T0.isoformat(),
            recorded_at=T0.isoformat(),
            data=data if data is not None else {"n": index},
        )
        for index, subject in enumerate(subjects, start=start)
    ]


def signed(size: int, root: bytes = b"\x01" * 32) -> SignedCheckpoint:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), SIGNER)


class LogEntriesContract:
    async def test_an_empty_log_has_no_entries(self, repository: LogEntries) -> None:
        assert await repository.size() == 0
        assert repository.end() == 0
        assert await repository.following(0, 2) == []
        assert [entry async for entry in repository.entries()] == []
        assert await repository.at([0, 1]) == {}

    async def test_appended_entries_round_trip_every_field(self, repository: LogEntries) -> None:
        data = {
            "request_id": "req-1",
            "applicant": {"nik": "hmac-sha256:" + "f" * 64, "preferred_channel": "SMS"},
            "attempts": 3,
            "reason": None,
            "note": "Kabupaten Sidoarjo — ñ",
            "tags": ["a", "b"],
        }
        entries = log_entries("req-1", "req-2", data=data)

        assert await repository.append(entries) == 2

        assert [entry async for entry in repository.entries()] == entries
        assert await repository.at([1, 0, 7]) == {0: entries[0], 1: entries[1]}
        assert await repository.size() == 2
        assert repository.end() == 2
        assert await repository.following(0, 3) == entries
        stored = await repository.at([0, 1])
        assert [stored[n].leaf_hash() for n in (0, 1)] == [entry.leaf_hash() for entry in entries]

    async def test_an_append_stops_at_the_first_index_taken(self, repository: LogEntries) -> None:
        await repository.append(log_entries("a", "b"))
        rival = log_entries("x", "y", "z", start=1)
        rival = [dataclasses.replace(entry, event_id=f"rival-{entry.index}") for entry in rival]

        assert await repository.append(rival) == 0
        assert await repository.append(rival[1:]) == 2
        assert await repository.size() == 4
        assert [entry.subject async for entry in repository.entries()] == ["a", "b", "y", "z"]

    async def test_an_append_stops_at_the_first_event_logged_already(
        self, repository: LogEntries
    ) -> None:
        first, second = log_entries("a", "b")
        await repository.append([first])
        again = dataclasses.replace(first, index=1)

        assert await repository.append([again, dataclasses.replace(second, index=2)]) == 0
        assert await repository.append([second]) == 1
        assert [entry.event_id async for entry in repository.entries()] == ["evt-0", "evt-1"]

    async def test_a_large_append_stops_at_an_event_logged_already_leaving_no_gap(
        self, repository: LogEntries
    ) -> None:
        await repository.append(log_entries("a"))
        batch = log_entries(*(f"r{n}" for n in range(1, 301)), start=1)
        batch[2] = dataclasses.replace(batch[2], event_id="evt-0")

        assert await repository.append(batch) == 2
        assert await repository.size() == 3
        assert [entry.subject async for entry in repository.entries()] == ["a", "r1", "r2"]

    async def test_entries_come_in_index_order_whatever_the_order_of_appends(
        self, repository: LogEntries
    ) -> None:
        first, second, third = log_entries("a", "b", "c")
        for entry in (third, first, second):
            assert await repository.append([entry]) == 1

        assert [entry.index async for entry in repository.entries()] == [0, 1, 2]
        assert await repository.size() == 3

    async def test_a_batch_stops_at_its_first_logged_event_keeping_what_came_before(
        self, repository: LogEntries
    ) -> None:
        first, second, third = log_entries("a", "b", "c")
        await repository.append([first])
        redelivered = dataclasses.replace(first, index=2)

        assert (
            await repository.append([second, redelivered, dataclasses.replace(third, index=3)]) == 1
        )

        assert [entry async for entry in repository.entries()] == [first, second]
        assert await repository.size() == 2

    async def test_the_size_follows_appends_one_by_one_and_in_batches(
        self, repository: LogEntries
    ) -> None:
        entries = log_entries(*(f"req-{n}" for n in range(37)))
        await repository.append(entries[:1])
        assert await repository.size() == 1
        await repository.append(entries[1:20])
        assert await repository.size() == 20
        await repository.append(entries[20:])

        assert await repository.size() == 37

    async def test_entries_page_from_an_index_and_by_subject(self, repository: LogEntries) -> None:
        await repository.append(log_entries("req-1", "req-2", "req-1", "req-1", "req-3"))

        page = [entry.index async for entry in repository.entries(start=1, limit=2)]
        of_one = [entry.index async for entry in repository.entries(start=1, subject="req-1")]
        limited = [
            entry.index async for entry in repository.entries(subject="req-1", start=0, limit=2)
        ]

        assert page == [1, 2]
        assert of_one == [2, 3]
        assert limited == [0, 2]
        assert [entry async for entry in repository.entries(start=5)] == []

    @pytest.mark.parametrize("count", [199, 200, 201, 450])
    async def test_reading_the_whole_log_crosses_batches(
        self, repository: LogEntries, count: int
    ) -> None:
        entries = log_entries(*(f"req-{n}" for n in range(count)))
        await repository.append(entries)

        assert [entry.index async for entry in repository.entries()] == list(range(count))
        assert [entry.index async for entry in repository.entries(start=150, limit=100)] == list(
            range(150, min(250, count))
        )


class TreeNodesContract:
    async def test_stored_hashes_come_back_and_missing_ones_are_left_out(
        self, repository: TreeNodes
    ) -> None:
        nodes = {
            Subtree(0, 0): b"\x01" * 32,
            Subtree(0, 1): b"\x02" * 32,
            Subtree(1, 0): b"\x03" * 32,
        }

        await repository.put(nodes)

        assert await repository.get([Subtree(1, 0), Subtree(0, 1), Subtree(0, 2)]) == {
            Subtree(1, 0): b"\x03" * 32,
            Subtree(0, 1): b"\x02" * 32,
        }
        assert await repository.get([]) == {}

    async def test_storing_the_same_hashes_again_changes_nothing(
        self, repository: TreeNodes
    ) -> None:
        await repository.put({Subtree(0, 0): b"\x01" * 32})

        await repository.put({Subtree(0, 0): b"\x01" * 32, Subtree(0, 1): b"\x02" * 32})

        assert await repository.get([Subtree(0, 0), Subtree(0, 1)]) == {
            Subtree(0, 0): b"\x01" * 32,
            Subtree(0, 1): b"\x02" * 32,
        }

    async def test_a_node_stored_with_another_hash_is_refused_and_kept(
        self, repository: TreeNodes
    ) -> None:
        await repository.put({Subtree(2, 1): b"\x01" * 32})

        with pytest.raises(TreeIntegrityError, match="other hashes"):
            await repository.put({Subtree(2, 1): b"\x09" * 32, Subtree(2, 2): b"\x02" * 32})

        assert (await repository.get([Subtree(2, 1)]))[Subtree(2, 1)] == b"\x01" * 32


class CheckpointStoreContract:
    async def test_the_first_checkpoint_becomes_the_latest_once(
        self, repository: CheckpointStore
    ) -> None:
        assert await repository.latest() is None

        assert await repository.advance(signed(3), previous=None) is True
        assert await repository.advance(signed(4), previous=None) is False

        assert await repository.latest() == signed(3)
        assert await repository.history() == [signed(3)]

    async def test_a_checkpoint_replaces_only_the_one_it_names(
        self, repository: CheckpointStore
    ) -> None:
        first, second, third = signed(3), signed(5, b"\x02" * 32), signed(8, b"\x03" * 32)
        await repository.advance(first, previous=None)

        assert await repository.advance(second, previous=first) is True
        assert await repository.advance(third, previous=first) is False
        assert await repository.advance(third, previous=signed(5, b"\x09" * 32)) is False
        assert await repository.advance(third, previous=second) is True

        assert await repository.latest() == third
        assert await repository.history() == [first, second, third]

    async def test_the_history_holds_every_latest_by_size(
        self, repository: CheckpointStore
    ) -> None:
        sizes = [1, 2, 4, 9, 12, 100]
        previous = None
        for size in sizes:
            checkpoint = signed(size, bytes([size]) * 32)
            assert await repository.advance(checkpoint, previous=previous)
            previous = checkpoint

        assert await repository.history() == [signed(size, bytes([size]) * 32) for size in sizes]
