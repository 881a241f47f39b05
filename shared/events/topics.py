"""The Kafka topics, each with one writing service, explicit partitions and retention."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.envelope import Event
from shared.events.models import CaseOpened, NotificationFailed, NotificationSent, RequestSubmitted

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int


REQUESTS = Topic("adminduk.requests.v1", partitions=6, retention_ms=30 * DAY_MS)
CASES = Topic("adminduk.cases.v1", partitions=6, retention_ms=30 * DAY_MS)
NOTIFICATIONS = Topic("adminduk.notifications.v1", partitions=6, retention_ms=30 * DAY_MS)

TOPIC_OF: dict[type[Event], Topic] = {
    RequestSubmitted: REQUESTS,
    CaseOpened: CASES,
    NotificationSent: NOTIFICATIONS,
    NotificationFailed: NOTIFICATIONS,
}


def dead_letter_topic(consumer_group: str) -> Topic:
    """Where a consumer group puts the messages it cannot handle, kept longer for inspection."""
    return Topic(f"adminduk.dlq.{consumer_group}.v1", partitions=1, retention_ms=90 * DAY_MS)
