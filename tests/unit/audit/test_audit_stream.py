"""The auditors' live stream without engines: where a follower starts, the server-sent event
framing, the entries topic's records, the feed that follows the log and the relay to the topic."""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
from collections.abc import Sequence

import pytest

from services.audit.domain.entry import LogEntry, canonical_json
from services.audit.domain.stream import (
    FROM,
    LAST_EVENT_ID,
    LAST_INDEX,
    InvalidResume,
    check_within,
    first_index,
    topic_key,
    topic_record,
)
from services.audit.service_layer.entries_topic import EntryRelay
from services.audit.service_layer.stream import (
    IDLE,
    FeedClosed,
    Follower,
    Idle,
    LogFeed,
    TooManyFollowers,
)
from tests.contracts.audit import log_entries
from tests.fakes_audit import FakeLogEntries


class TestWhereAFollowerStarts:
    def test_without_a_place_it_starts_at_the_end_of_the_log(self) -> None:
        assert first_index(last_event_id=None, start=None) is None

    def test_from_names_the_first_index_wanted(self) -> None:
        assert first_index(last_event_id=None, start=7) == 7

    def test_last_event_id_names_the_last_entry_held(self) -> None:
        assert first_index(last_event_id="7", start=None) == 8
        assert first_index(last_event_id="0", start=None) == 1

    def test_last_event_id_wins_over_from_as_a_reconnecting_client_sends_both(self) -> None:
        assert first_index(last_event_id="41", start=3) == 42

    def test_an_empty_last_event_id_means_none(self) -> None:
        assert first_index(last_event_id="", start=5) == 5

    def test_the_largest_index_is_accepted(self) -> None:
        assert first_index(last_event_id=str(LAST_INDEX), start=None) == LAST_INDEX + 1

    @pytest.mark.parametrize(
        "hostile",
        ["-1", "+1", "abc", "1.5", " 5", "5 ", "0x10", "1e3", "٣", "9" * 20, str(LAST_INDEX + 1)],
    )
    def test_anything_but_an_index_is_refused_naming_the_header(self, hostile: str) -> None:
        with pytest.raises(InvalidResume) as refused:
            first_index(last_event_id=hostile, start=None)

        assert refused.value.field == LAST_EVENT_ID
        assert str(LAST_INDEX) in refused.value.reason

    def test_a_place_past_the_end_of_the_log_is_refused(self) -> None:
        check_within(3, 3, field=FROM)
        with pytest.raises(InvalidResume, match="memuat 3 entri") as refused:
            check_within(4, 3, field=FROM)

        assert refused.value.field == FROM

    def test_any_place_but_zero_is_past_the_end_of_an_empty_log(self) -> None:
        check_within(0, 0, field=LAST_EVENT_ID)
        with pytest.raises(InvalidResume, match="belum ada entri"):
            check_within(1, 0, field=LAST_EVENT_ID)


class TestTopicRecord:
    def test_the_record_carries_a_leaf_hash_anyone_can_recompute(self) -> None:
        (entry,) = log_entries("req-1", start=5, data={"nik": "p:abc", "note": "Désa"})

        record = json.loads(topic_record(entry))

        assert topic_key(entry) == b"5"
        assert record["index"] == 5
        recomputed = hashlib.sha256(b"\x00" + canonical_json(record["entry"])).digest()
        assert record["leaf_hash"] == base64.b64encode(recomputed).decode()
        assert LogEntry.from_fields(record["entry"]) == entry


class RememberedSize(FakeLogEntries):
    """A log whose size counts an entry lost below it, as the Mongo log's remembered size does."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.remembered = size

    async def size(self) -> int:
        return self.remembered


def feed_over(log: FakeLogEntries, *, max_followers: int = 5, heartbeat_s: float = 30) -> LogFeed:
    return LogFeed(
        log=log, max_followers=max_followers, poll_interval_s=0.05, heartbeat_s=heartbeat_s
    )


async def taken(follower: Follower, count: int) -> list[LogEntry | Idle]:
    items: list[LogEntry | Idle] = []
    async with asyncio.timeout(5):
        async for item in follower:
            items.append(item)
            if len(items) == count:
                return items
    return items


class TestLogFeed:
    async def test_a_follower_gets_the_entries_from_its_place_then_those_appended(self) -> None:
        log = FakeLogEntries()
        entries = log_entries(*[f"req-{n}" for n in range(6)])
        await log.append(entries[:4])
        feed = feed_over(log)
        follower = await feed.follow(first=2, field=FROM)

        async def append_later() -> None:
            await log.read_through()
            await log.append(entries[4:])
            feed.appended(entries[4:])

        appending = asyncio.create_task(append_later())
        received = await taken(follower, 4)
        await appending

        assert received == entries[2:]

    async def test_without_a_place_a_follower_sees_only_what_comes_after(self) -> None:
        log = FakeLogEntries()
        entries = log_entries("a", "b", "c")
        await log.append(entries[:2])
        feed = feed_over(log)
        follower = await feed.follow(first=None, field=FROM)
        await log.append(entries[2:])

        assert await taken(follower, 1) == entries[2:]

    async def test_entries_appended_elsewhere_are_found_by_polling(self) -> None:
        log = FakeLogEntries()
        feed = feed_over(log)
        follower = await feed.follow(first=None, field=FROM)
        entries = log_entries("a", "b")

        async def append_unannounced() -> None:
            await log.read_through()
            await log.append(entries)

        appending = asyncio.create_task(append_unannounced())
        assert await taken(follower, 2) == entries
        await appending

    async def test_a_quiet_log_gives_heartbeats(self) -> None:
        feed = feed_over(FakeLogEntries(), heartbeat_s=0.1)
        follower = await feed.follow(first=None, field=FROM)

        assert await taken(follower, 2) == [IDLE, IDLE]

    async def test_a_place_past_the_end_is_refused(self) -> None:
        log = FakeLogEntries()
        await log.append(log_entries("a"))

        with pytest.raises(InvalidResume) as refused:
            await feed_over(log).follow(first=2, field=LAST_EVENT_ID)

        assert refused.value.field == LAST_EVENT_ID

    async def test_followers_beyond_the_limit_are_refused_until_one_ends(self) -> None:
        log = FakeLogEntries()
        feed = feed_over(log, max_followers=2)
        first = await feed.follow(first=None, field=FROM)
        second = await feed.follow(first=None, field=FROM)

        with pytest.raises(TooManyFollowers):
            await feed.follow(first=None, field=FROM)

        reading = asyncio.create_task(taken(first, 1))
        await log.read_through()
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        del second
        gc.collect()
        assert feed.followers == 0
        await feed.follow(first=None, field=FROM)

    async def test_stopping_ends_every_stream_and_refuses_new_ones(self) -> None:
        log = FakeLogEntries()
        feed = feed_over(log)
        follower = await feed.follow(first=None, field=FROM)
        reading = asyncio.create_task(taken(follower, 1))
        await log.read_through()

        await feed.stop()

        assert await reading == []
        assert feed.followers == 0
        assert not feed.running
        with pytest.raises(FeedClosed):
            await feed.follow(first=None, field=FROM)

    async def test_a_missing_entry_holds_the_follower_at_it(self) -> None:
        log = RememberedSize(3)
        entries = log_entries("a", "b", "c")
        await log.append(entries)
        del log.by_index[1]
        follower = await feed_over(log).follow(first=0, field=FROM)
        stream = aiter(follower)

        received = await anext(stream)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await anext(stream)

        assert received == entries[0]


class FakeTopic:
    def __init__(self, fail_after: int | None = None) -> None:
        self.records: list[LogEntry] = []
        self._fail_after = fail_after

    async def publish(self, entries: Sequence[LogEntry]) -> None:
        for entry in entries:
            if self._fail_after is not None and len(self.records) >= self._fail_after:
                raise ConnectionError("broker gone")
            self.records.append(entry)


class FakePosition:
    def __init__(self) -> None:
        self.next_index = 0

    async def get(self) -> int:
        return self.next_index

    async def advance(self, *, from_index: int, to_index: int) -> bool:
        if self.next_index != from_index:
            return False
        self.next_index = to_index
        return True


class TestEntryRelay:
    async def test_publishes_the_log_in_index_order_and_records_how_far(self) -> None:
        log = FakeLogEntries()
        entries = log_entries(*[f"req-{n % 3}" for n in range(7)])
        await log.append(entries)
        topic, position = FakeTopic(), FakePosition()
        relay = EntryRelay(log=log, topic=topic, position=position, batch=3)

        assert await relay.run() == 7
        assert await relay.run() == 0

        assert topic.records == entries
        assert position.next_index == 7

    async def test_after_a_failed_publish_it_starts_again_from_the_recorded_position(
        self,
    ) -> None:
        log = FakeLogEntries()
        entries = log_entries(*"abcde")
        await log.append(entries)
        position = FakePosition()
        failing = EntryRelay(log=log, topic=FakeTopic(fail_after=3), position=position, batch=2)

        with pytest.raises(ConnectionError):
            await failing.run()
        topic = FakeTopic()
        await EntryRelay(log=log, topic=topic, position=position, batch=2).run()

        assert position.next_index == 5
        assert topic.records == entries[2:]

    async def test_a_missing_entry_stops_the_relay_at_it_without_skipping(self) -> None:
        log = RememberedSize(4)
        entries = log_entries(*"abcd")
        await log.append(entries)
        topic, position = FakeTopic(), FakePosition()
        del log.by_index[2]
        relay = EntryRelay(log=log, topic=topic, position=position)

        assert await relay.run() == 2

        assert topic.records == entries[:2]
        assert position.next_index == 2

    async def test_a_position_another_relay_moved_is_followed(self) -> None:
        log = FakeLogEntries()
        entries = log_entries(*"abcdef")
        await log.append(entries)
        position = FakePosition()

        class Overtaken(FakeTopic):
            async def publish(self, entries: Sequence[LogEntry]) -> None:
                await super().publish(entries)
                position.next_index = 4

        relay = EntryRelay(log=log, topic=Overtaken(), position=position, batch=2)

        assert await relay.run() == 4
        assert position.next_index == 6
