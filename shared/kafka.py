"""Kafka access and topics: how a client reaches the brokers, and the topics a service creates.

The producer is in `shared.kafka_producer`, the consumer loop in `shared.kafka_consumer`.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.config import ServiceSettings
from shared.events.topics import TOPICS, Topic, dead_letter_topic
from shared.messagebus import Subscription

TOPIC_ALREADY_EXISTS = 36


SCRAM_MECHANISM = "SCRAM-SHA-512"


class TopicCreationError(RuntimeError):
    pass


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and who a client is to them.

    With a user name the client speaks SASL_SSL: TLS checked against `ca_file` (the system's
    authorities if None) and SCRAM-SHA-512 with the password; without one, plaintext, for a
    cluster that asks for nothing.
    """

    bootstrap_servers: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    @classmethod
    def of(cls, settings: ServiceSettings) -> KafkaAccess:
        """A service's access from its settings; its password made locally outside production."""
        if settings.kafka_security_protocol == "PLAINTEXT":
            return cls(settings.kafka_bootstrap_servers)
        password = settings.secret(f"{settings.env_prefix}KAFKA_PASSWORD", settings.kafka_password)
        return cls(
            settings.kafka_bootstrap_servers,
            username=settings.kafka_user,
            password=password.get_secret_value(),
            ca_file=settings.kafka_ca_file,
        )

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client takes for this access."""
        if self.username is None:
            return {"bootstrap_servers": self.bootstrap_servers}
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": "SASL_SSL",
            "ssl_context": context,
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }


def min_insync_replicas(replication_factor: int) -> int:
    """A majority of a topic's replicas: an event acknowledged to an `acks=all` producer is on
    that many brokers, so it outlives the loss of any minority of them."""
    return replication_factor // 2 + 1


async def ensure_topics(
    kafka: KafkaAccess, topics: Iterable[Topic], *, replication_factor: int
) -> None:
    """Creates the topics that do not exist yet, with their partitions, retention and
    `min.insync.replicas`."""
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        new_topics = [
            NewTopic(
                topic.name,
                num_partitions=topic.partitions,
                replication_factor=replication_factor,
                topic_configs={
                    "retention.ms": str(topic.retention_ms),
                    "min.insync.replicas": str(min_insync_replicas(replication_factor)),
                },
            )
            for topic in topics
        ]
        response = await admin.create_topics(new_topics)
        for name, code, *rest in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise TopicCreationError(f"creating topic {name} failed: error {code} {rest}")
    finally:
        await admin.close()


def service_topics(
    service: str, *, subscription: Subscription[Any] | None = None, group_id: str | None = None
) -> list[Topic]:
    """The topics a service creates at start: those it writes, reads, and its dead letters."""
    topics = [topic for topic in TOPICS if topic.writer == service]
    if subscription is not None:
        topics += subscription.topics
        topics.append(dead_letter_topic(group_id or service))
    return list(dict.fromkeys(topics))
