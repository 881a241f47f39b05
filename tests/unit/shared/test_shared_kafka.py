from __future__ import annotations

from dataclasses import dataclass

from shared.kafka import min_insync_replicas
from shared.kafka_consumer import fetch_options, in_time_order


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    timestamp: int


def test_in_time_order_merges_partitions_by_timestamp() -> None:
    partition_0 = [Record(0, 0, 100), Record(0, 1, 300), Record(0, 2, 500)]
    partition_1 = [Record(1, 0, 200), Record(1, 1, 400)]

    merged = list(in_time_order([partition_0, partition_1]))

    assert [record.timestamp for record in merged] == [100, 200, 300, 400, 500]


def test_in_time_order_never_reorders_one_partition() -> None:
    """Producer clocks may go backwards within a partition; offsets must still come in order."""
    partition_0 = [Record(0, 0, 500), Record(0, 1, 100)]
    partition_1 = [Record(1, 0, 300)]

    merged = list(in_time_order([partition_0, partition_1]))

    assert [(r.partition, r.offset) for r in merged if r.partition == 0] == [(0, 0), (0, 1)]
    assert len(merged) == 3


def test_in_time_order_of_nothing_is_nothing() -> None:
    assert list(in_time_order([])) == []
    assert list(in_time_order([[], []])) == []


def test_an_acknowledged_event_is_on_a_majority_of_replicas() -> None:
    assert [min_insync_replicas(replicas) for replicas in (1, 2, 3, 5)] == [1, 2, 2, 3]


def test_a_consumer_that_may_wait_lets_the_broker_gather_events_for_that_long() -> None:
    options = fetch_options(250)

    assert options["fetch_max_wait_ms"] == 250
    assert options["fetch_min_bytes"] >= 1024 * 1024


def test_a_consumer_that_may_not_wait_is_answered_at_its_first_event() -> None:
    assert fetch_options(0) == {"fetch_min_bytes": 1}
