"""Notify's Kafka entry point: events from the cases topic, translated into use cases."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.notify.config import NotifySettings
from services.notify.service_layer import delivery
from services.notify.service_layer.ports import NotificationRepository
from shared.events.envelope import CloudEvent
from shared.events.models import CaseOpened
from shared.events.topics import CASES
from shared.kafka import EventConsumer, subscribe
from shared.polling import Wake


def on_cases(
    *,
    settings: NotifySettings,
    producer: AIOKafkaProducer,
    repository: NotificationRepository,
    delivery_ready: Wake,
) -> EventConsumer:
    async def case_opened(event: CloudEvent) -> None:
        await delivery.queue_case_opened_message(
            opened=CaseOpened.model_validate(event.data),
            event_id=event.id,
            repository=repository,
            delivery_ready=delivery_ready,
            now=datetime.now(UTC),
        )

    return subscribe(
        settings=settings,
        group_id=settings.consumer_group,
        topics=[CASES],
        producer=producer,
        handlers={CaseOpened.event_type: case_opened},
    )
