"""Audit's Kafka entry point: every event of every topic goes into the log."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.audit.config import AuditSettings
from services.audit.service_layer import log
from services.audit.service_layer.ports import AuditLogRepository
from shared.events.envelope import CloudEvent
from shared.events.models import EVENT_TYPES
from shared.events.topics import CASES, NOTIFICATIONS, REQUESTS
from shared.kafka import EventConsumer, subscribe

AUDITED_TOPICS = [REQUESTS, CASES, NOTIFICATIONS]


def on_all_topics(
    *,
    settings: AuditSettings,
    producer: AIOKafkaProducer,
    repository: AuditLogRepository,
    pseudonym_key: bytes,
) -> EventConsumer:
    async def any_event(event: CloudEvent) -> None:
        await log.record_event(
            event=event, log=repository, pseudonym_key=pseudonym_key, now=datetime.now(UTC)
        )

    return subscribe(
        settings=settings,
        group_id=settings.consumer_group,
        topics=AUDITED_TOPICS,
        producer=producer,
        handlers=dict.fromkeys(EVENT_TYPES, any_event),
    )
