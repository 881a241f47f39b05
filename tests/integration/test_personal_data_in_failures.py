"""Events that fail carry NIKs, names and phone numbers; none of it may reach a log line or a
dead-letter header, on any path: invalid data, transient retries, handler errors.

Logs are checked as the services write them (the JSON formatter) but without the redacting
filter, so the test shows the code itself logs no values rather than the filter catching them.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from shared.clock import system_clock
from shared.errors import RetryableError
from shared.events.envelope import CloudEvent
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.kafka import KafkaAccess
from shared.kafka_consumer import EventConsumer
from shared.logging import JsonFormatter
from shared.messagebus import Received, Subscription
from tests.builders import MOBILE, VALID_NIK, request_submitted, wrapped
from tests.integration.conftest import TopicFactory, read_all
from tests.polling import eventually

NAME = "Siti Aminah"
OTHER_NIK = "3516094507900002"
LOCAL_MOBILE = "081234567890"
PERSONAL = (VALID_NIK, OTHER_NIK, NAME, MOBILE, MOBILE.removeprefix("+"), LOCAL_MOBILE)


@dataclass
class Attempts:
    handled: list[str] = field(default_factory=list)
    failures: int = 0


subscription: Subscription[Attempts] = Subscription("processing")


@subscription.on(RequestSubmitted)
async def on_request_submitted(message: Received[RequestSubmitted], deps: Attempts) -> None:
    """Fails the way real handlers can, with personal data in every error."""
    if message.data.request_id != "req-fails":
        deps.handled.append(message.data.request_id)
        return
    deps.failures += 1
    if deps.failures == 1:
        raise RetryableError(f"write conflict on {message.data.applicant.nik}")
    try:
        Applicant.model_validate({"nik": VALID_NIK, "name": NAME, "phone": LOCAL_MOBILE})
    except ValidationError as exc:
        raise RuntimeError(f"stored case unreadable for {MOBILE}") from exc


def poisoned(request_id: str, **applicant_changes: str | None) -> CloudEvent:
    """A RequestSubmitted whose applicant has fields changed (None: left out)."""
    event = wrapped(request_submitted(request_id), source="/adminduk/intake")
    applicant = {**event.data["applicant"], **applicant_changes}
    data = event.data | {"applicant": {k: v for k, v in applicant.items() if v is not None}}
    return event.model_copy(update={"data": data})


async def test_failing_events_leave_no_personal_data_in_logs_or_dead_letter_headers(
    kafka: KafkaAccess,
    producer: AIOKafkaProducer,
    new_topic: TopicFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # As `configure_logging` sets them: aiokafka's debug lines print whole messages.
    caplog.set_level(logging.WARNING, logger="aiokafka")
    caplog.set_level(logging.WARNING, logger="pymongo")
    topic, dead_letter = await new_topic(partitions=1), await new_topic(partitions=1)
    events = [
        poisoned("req-missing", preferred_channel=None),
        poisoned("req-extra", mother_nik=OTHER_NIK),
        poisoned("req-fails"),
        poisoned("req-fine"),
    ]
    for event in events:
        await producer.send_and_wait(
            topic.name, event.to_json_bytes(), key=event.subject.encode(),
            headers=CloudEvent.structured_headers(),
        )  # fmt: skip
    attempts = Attempts()
    loop = EventConsumer(
        kafka=kafka,
        group_id=f"processing-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        handle=subscription.bind(attempts, system_clock),
        producer=producer,
        dead_letter=dead_letter,
        max_attempts=2,
        retry_backoff_s=0.01,
    )
    await loop.start()
    try:
        dead = await read_all(kafka, dead_letter, expected=3)
        await eventually(lambda: attempts.handled == ["req-fine"], what="the good event handled")
    finally:
        await loop.stop()

    errors = {record.key.decode(): dict(record.headers)["error"].decode() for record in dead}
    submitted = RequestSubmitted.event_type
    assert errors == {
        "req-missing": f"cannot handle {submitted}: applicant.preferred_channel: missing",
        "req-extra": f"cannot handle {submitted}: applicant.mother_nik: extra_forbidden",
        "req-fails": "RuntimeError: stored case unreadable for <phone>",
    }
    headers = [value for record in dead for _, value in record.headers]
    logged = [JsonFormatter("processing").format(record) for record in caplog.records]
    assert any("ValidationError: preferred_channel: missing" in line for line in logged)
    assert any("transient failure" in line for line in logged)
    for text in [*logged, *map(repr, headers)]:
        for value in PERSONAL:
            assert value not in text
