"""The Kafka topics, each with one writing service, explicit partitions and retention.

Events name their topic (`Event.topic`); the topics a service creates follow from the events it
writes and the subscriptions it declares.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_ms: int
    writer: str | None = None


REQUESTS = Topic("adminduk.requests.v1", partitions=6, retention_ms=30 * DAY_MS, writer="intake")
CASES = Topic("adminduk.cases.v1", partitions=6, retention_ms=30 * DAY_MS, writer="processing")
NOTIFICATIONS = Topic(
    "adminduk.notifications.v1", partitions=6, retention_ms=30 * DAY_MS, writer="notify"
)

APPOINTMENTS = Topic(
    "adminduk.appointments.v1", partitions=3, retention_ms=30 * DAY_MS, writer="intake"
)
COMPLAINTS = Topic(
    "adminduk.complaints.v1", partitions=3, retention_ms=90 * DAY_MS, writer="intake"
)

CONVERSATIONS = Topic(
    "adminduk.conversations.v1", partitions=3, retention_ms=DAY_MS, writer="intake"
)
"""Replies to citizens' WhatsApp and SMS messages on their way to notify; kept one day only."""

LETTERS = Topic("adminduk.letters.v1", partitions=3, retention_ms=90 * DAY_MS, writer="processing")
"""Official letters and their dispositions, keyed by the letter's id."""

AUDIT_LOG = Topic("adminduk.audit-log.v1", partitions=1, retention_ms=365 * DAY_MS, writer="audit")
"""Every audit log entry in index order, keyed by index: plain JSON records, not CloudEvents."""

IDENTITY = Topic("adminduk.identity.v1", partitions=3, retention_ms=DAY_MS, writer="intake")
"""Sign-in codes on their way to notify: short-lived, so kept one day only."""

INTEGRITY = Topic("adminduk.integrity.v1", partitions=3, retention_ms=365 * DAY_MS, writer="audit")
"""Integrity alerts audit raises over its log, and auditors' acknowledgements and resolutions."""

TOPICS = (
    REQUESTS,
    CASES,
    NOTIFICATIONS,
    APPOINTMENTS,
    COMPLAINTS,
    CONVERSATIONS,
    LETTERS,
    AUDIT_LOG,
    IDENTITY,
    INTEGRITY,
)
"""Every topic of the backend but the dead letters, which follow from consumer groups."""


def dead_letter_topic(consumer_group: str) -> Topic:
    """Where a consumer group puts the messages it cannot handle, kept longer for inspection."""
    return Topic(
        f"adminduk.dlq.{consumer_group}.v1",
        partitions=1,
        retention_ms=90 * DAY_MS,
        writer=consumer_group,
    )
