"""Processing's Kafka entry point: events from the requests topic, translated into use cases."""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from services.processing.config import ProcessingSettings
from services.processing.service_layer import cases
from services.processing.service_layer.ports import CaseRepository
from shared.events.envelope import CloudEvent
from shared.events.models import RequestSubmitted
from shared.events.topics import REQUESTS
from shared.kafka import EventConsumer, subscribe
from shared.polling import Wake


def on_requests(
    *,
    settings: ProcessingSettings,
    producer: AIOKafkaProducer,
    repository: CaseRepository,
    outbox_ready: Wake,
) -> EventConsumer:
    async def request_submitted(event: CloudEvent) -> None:
        await cases.open_case_for_request(
            submitted=RequestSubmitted.model_validate(event.data),
            event_id=event.id,
            repository=repository,
            outbox_ready=outbox_ready,
            now=datetime.now(UTC),
        )

    return subscribe(
        settings=settings,
        group_id=settings.consumer_group,
        topics=[REQUESTS],
        producer=producer,
        handlers={RequestSubmitted.event_type: request_submitted},
    )
