"""What every store of the integrity engine's progress must do, fake or MongoDB alike.

The class is abstract: a subclass named `Test…` provides a function-scoped `instance` fixture, a
callable that gives a new audit process's store over one empty storage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from services.audit.domain.integrity.memory import Kind, RuleMemory
from services.audit.service_layer.ports import EngineProgress

Instance = Callable[[], EngineProgress]
SEEN = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def remembered(*requests: str, officer: str = "verifier-1", at: datetime = SEEN) -> RuleMemory:
    """A memory of the requests, each held by `officer`, and of the officer's reads that day."""
    memory = RuleMemory()
    for index, request_id in enumerate(requests):
        memory.request(request_id, at).assigned[officer] = index
        memory.count(Kind.UNASSIGNED_READS, f"{officer} 2025-03-03", at).indexes.append(index)
    return memory


class EngineProgressContract:
    async def test_a_new_store_starts_at_the_first_entry_remembering_nothing(
        self, instance: Instance
    ) -> None:
        assert await instance().load() == (0, RuleMemory())

    async def test_the_changed_parts_and_the_position_load_back(self, instance: Instance) -> None:
        memory = remembered("req-1", "req-2")

        assert await instance().save(5, memory.take_changes(), previous=0)

        assert await instance().load() == (5, memory)

    async def test_a_later_save_writes_what_changed_and_drops_what_was_forgotten(
        self, instance: Instance
    ) -> None:
        store = instance()
        memory = remembered("req-1", "req-2")
        await store.save(5, memory.take_changes(), previous=0)
        memory.request("req-2", SEEN + timedelta(days=30)).touched["verifier-2"] = 6
        memory.request("req-3", SEEN + timedelta(days=30))
        memory.forget_before(SEEN + timedelta(days=1))

        assert await store.save(8, memory.take_changes(), previous=5)

        position, loaded = await instance().load()
        assert position == 8
        assert loaded == memory
        assert sorted(loaded.requests) == ["req-2", "req-3"]
        assert loaded.unassigned_reads == {}

    async def test_the_position_moves_only_from_the_one_named(self, instance: Instance) -> None:
        first, second = instance(), instance()
        assert await first.save(5, RuleMemory().take_changes(), previous=0)

        assert not await second.save(7, RuleMemory().take_changes(), previous=0)
        assert not await second.save(7, RuleMemory().take_changes(), previous=3)
        assert (await instance().load())[0] == 5
        assert await second.save(7, RuleMemory().take_changes(), previous=5)
        assert (await instance().load())[0] == 7

    async def test_parts_of_a_save_whose_position_did_not_move_load_ahead_of_it(
        self, instance: Instance
    ) -> None:
        """What a crash between the parts and the position leaves: parts true of later entries,
        which the rules, idempotent by entry index, take as they are."""
        store = instance()
        await store.save(5, remembered("req-1").take_changes(), previous=0)
        ahead = remembered("req-1", "req-2")

        assert not await store.save(9, ahead.take_changes(), previous=7)

        assert await instance().load() == (5, ahead)

    async def test_an_instance_behind_never_hides_what_another_saved_since(
        self, instance: Instance
    ) -> None:
        ahead, behind = instance(), instance()
        await ahead.load()
        await behind.load()
        memory = remembered("req-1")
        assert await ahead.save(5, memory.take_changes(), previous=0)
        memory.request("req-1", SEEN).touched["verifier-2"] = 7
        assert await ahead.save(9, memory.take_changes(), previous=5)

        stale = RuleMemory()
        stale.request("req-1", SEEN).assigned["verifier-3"] = 0
        assert not await behind.save(5, stale.take_changes(), previous=0)

        assert await instance().load() == (9, memory)
