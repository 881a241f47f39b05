from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from pydantic import ValidationError

from shared.events.envelope import CloudEvent, Event
from shared.events.models import EVENT_TYPES
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import CaseEvent, CaseOpened
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply, DeliveryReported
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.integrity import (
    IntegrityAlert,
    IntegrityAlertAcknowledged,
    IntegrityAlertResolved,
)
from shared.events.models.letters import LetterEvent
from shared.events.models.notifications import (
    NotificationFailed,
    NotificationHistoryViewed,
    NotificationSent,
    NotificationStatusChanged,
)
from shared.events.models.requests import (
    DocumentAttached,
    DocumentViewed,
    RequestCancelled,
    RequestCompleted,
    RequestResubmitted,
    RequestSubmitted,
)
from shared.events.models.values import NotificationChannel
from shared.events.topics import (
    APPOINTMENTS,
    CASES,
    COMPLAINTS,
    CONVERSATIONS,
    IDENTITY,
    INTEGRITY,
    LETTERS,
    NOTIFICATIONS,
    REQUESTS,
    Topic,
    dead_letter_topic,
)
from tests.builders import MOBILE, SYSTEM, T0, request_submitted


def test_wrap_fills_the_cloudevents_attributes_from_the_event() -> None:
    submitted = request_submitted("req-1")

    event = CloudEvent.wrap(submitted, source="/adminduk/intake", time=T0)

    assert event.specversion == "1.0"
    assert event.type == "id.go.adminduk.request.submitted.v1"
    assert event.source == "/adminduk/intake"
    assert event.subject == "req-1"
    assert event.time == T0
    assert event.datacontenttype == "application/json"
    assert RequestSubmitted.model_validate(event.data) == submitted
    assert uuid.UUID(event.id)


def test_events_that_are_not_about_a_request_are_keyed_by_what_they_are_about() -> None:
    sent = NotificationSent(
        actor=SYSTEM,
        notification_id="evt-1:citizen",
        about="challenge-1",
        channel=NotificationChannel.SMS,
        template="sign_in_code",
        provider_message_id="sms-1",
        sent_at=T0,
    )
    requested = SignInCodeRequested(
        actor=SYSTEM,
        challenge_id="challenge-2",
        phone=MOBILE,
        channel=NotificationChannel.SMS,
        code="123456",
        expires_at=T0,
    )

    assert CloudEvent.wrap(sent, source="/test").subject == "challenge-1"
    assert CloudEvent.wrap(requested, source="/test").subject == "challenge-2"


def test_every_wrap_gets_a_fresh_id() -> None:
    submitted = request_submitted("req-1")

    ids = {CloudEvent.wrap(submitted, source="/test").id for _ in range(5)}

    assert len(ids) == 5


def test_wrap_without_a_time_uses_the_current_utc_time() -> None:
    before = datetime.now(UTC)

    event = CloudEvent.wrap(request_submitted(), source="/test")

    assert before <= event.time <= datetime.now(UTC)
    assert event.time.utcoffset() is not None


def test_an_event_survives_a_json_round_trip() -> None:
    event = CloudEvent.wrap(request_submitted("req-1"), source="/adminduk/intake", time=T0)

    raw = event.to_json_bytes()

    assert json.loads(raw)["specversion"] == "1.0"
    assert CloudEvent.from_json_bytes(raw) == event


@pytest.mark.parametrize(
    "raw", [None, b"", b"not json", b"{}", b"[1, 2]", b'{"specversion": "0.3"}']
)
def test_anything_but_a_cloudevent_is_a_validation_error(raw: bytes | None) -> None:
    with pytest.raises(ValidationError):
        CloudEvent.from_json_bytes(raw)


def test_extension_attributes_of_newer_producers_are_tolerated_and_dropped() -> None:
    event = CloudEvent.wrap(request_submitted(), source="/test")
    document = json.loads(event.to_json_bytes())
    document["traceparent"] = "00-abc-def-01"

    assert CloudEvent.from_json_bytes(json.dumps(document).encode()) == event


@pytest.mark.parametrize("attribute", ["id", "source", "type", "subject"])
def test_required_attributes_may_not_be_empty(attribute: str) -> None:
    document = json.loads(CloudEvent.wrap(request_submitted(), source="/test").to_json_bytes())
    document[attribute] = ""

    with pytest.raises(ValidationError):
        CloudEvent.from_json_bytes(json.dumps(document).encode())


def test_event_data_refuses_unknown_fields() -> None:
    data = request_submitted().model_dump(mode="json") | {"note": "extra"}

    with pytest.raises(ValidationError):
        RequestSubmitted.model_validate(data)


def test_every_event_type_travels_on_the_topic_of_its_writer() -> None:
    case_steps = {model for model in EVENT_TYPES.values() if issubclass(model, CaseEvent)}
    letter_steps = {model for model in EVENT_TYPES.values() if issubclass(model, LetterEvent)}
    expected: dict[type[Event], Topic] = {
        RequestSubmitted: REQUESTS,
        RequestCancelled: REQUESTS,
        RequestResubmitted: REQUESTS,
        DocumentAttached: REQUESTS,
        DocumentViewed: REQUESTS,
        RequestCompleted: REQUESTS,
        AppointmentBooked: APPOINTMENTS,
        AppointmentCancelled: APPOINTMENTS,
        ComplaintFiled: COMPLAINTS,
        ConversationReply: CONVERSATIONS,
        DeliveryReported: CONVERSATIONS,
        CaseOpened: CASES,
        **dict.fromkeys(case_steps, CASES),
        **dict.fromkeys(letter_steps, LETTERS),
        NotificationSent: NOTIFICATIONS,
        NotificationFailed: NOTIFICATIONS,
        NotificationStatusChanged: NOTIFICATIONS,
        NotificationHistoryViewed: NOTIFICATIONS,
        SignInCodeRequested: IDENTITY,
        IntegrityAlert: INTEGRITY,
        IntegrityAlertAcknowledged: INTEGRITY,
        IntegrityAlertResolved: INTEGRITY,
    }
    assert {model: model.topic for model in EVENT_TYPES.values()} == expected
    assert len(case_steps) == 14
    assert len(letter_steps) == 13
    assert LETTERS.writer == "processing"
    assert (REQUESTS.writer, CASES.writer, NOTIFICATIONS.writer, IDENTITY.writer) == (
        "intake",
        "processing",
        "notify",
        "intake",
    )
    assert {APPOINTMENTS.writer, COMPLAINTS.writer, CONVERSATIONS.writer} == {"intake"}


def test_declaring_an_event_class_registers_it_and_a_missing_topic_is_refused() -> None:
    with pytest.raises(TypeError, match="names no topic"):

        class Topicless(Event):
            event_type: ClassVar[str] = "id.go.adminduk.test.topicless.v1"

    with pytest.raises(TypeError, match="declared twice"):

        class Twin(Event):
            event_type: ClassVar[str] = RequestSubmitted.event_type
            topic: ClassVar[Topic] = REQUESTS

    assert "id.go.adminduk.test.topicless.v1" not in EVENT_TYPES
    assert EVENT_TYPES[RequestSubmitted.event_type] is RequestSubmitted


def test_event_types_are_versioned_and_keyed_by_their_name() -> None:
    for name, model in EVENT_TYPES.items():
        assert model.event_type == name
        assert name.startswith("id.go.adminduk.")
        assert name.endswith(".v1")


def test_a_consumer_group_has_its_own_dead_letter_topic() -> None:
    topic = dead_letter_topic("notify")

    assert topic.name == "adminduk.dlq.notify.v1"
    assert topic.partitions == 1
    assert topic.retention_ms > REQUESTS.retention_ms
