"""What every store of window counts must do, fake or MongoDB.

The class is abstract: a subclass named `Test…` provides a function-scoped fixture `counts`
holding an empty store.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from shared.counts import HOUR, Counts
from tests.builders import T0


class CountsContract:
    async def test_each_addition_of_a_window_is_counted_once_however_many_add_at_once(
        self, counts: Counts
    ) -> None:
        added = await asyncio.gather(*(counts.add("lookups", "a", now=T0) for _ in range(12)))

        assert sorted(added) == list(range(1, 13))
        assert await counts.get("lookups", "a", now=T0) == 12

    async def test_a_new_window_another_key_and_another_name_count_from_nothing(
        self, counts: Counts
    ) -> None:
        await counts.add("lookups", "a", now=T0)
        await counts.add("lookups", "a", now=T0 + timedelta(seconds=59))

        next_minute = await counts.add("lookups", "a", now=T0 + timedelta(seconds=60))
        other_key = await counts.add("lookups", "b", now=T0)
        other_name = await counts.add("sign_ins", "a", now=T0)

        assert (next_minute, other_key, other_name) == (1, 1, 1)
        assert await counts.get("lookups", "c", now=T0) == 0

    async def test_an_addition_of_several_and_an_hours_window(self, counts: Counts) -> None:
        first = await counts.add("wrong", "K7M2Q9XP", now=T0, window=HOUR, by=3)
        later = await counts.add(
            "wrong", "K7M2Q9XP", now=T0 + timedelta(minutes=29), window=HOUR, by=2
        )
        next_hour = await counts.get("wrong", "K7M2Q9XP", now=T0 + HOUR, window=HOUR)

        assert (first, later, next_hour) == (3, 5, 0)
