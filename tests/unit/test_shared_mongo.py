from __future__ import annotations

from shared.events.envelope import CloudEvent
from shared.events.topics import CASES, REQUESTS
from shared.mongo import outbox_entry
from tests.builders import case_opened, request_submitted, wrapped


def test_an_outbox_entry_names_the_topic_key_and_exact_payload_of_its_event() -> None:
    event = wrapped(request_submitted("req-1"))

    entry = outbox_entry(event)

    assert entry["id"] == event.id
    assert entry["topic"] == REQUESTS.name
    assert entry["key"] == "req-1"
    assert CloudEvent.model_validate_json(entry["payload"]) == event


def test_an_outbox_entry_follows_the_event_type_to_its_topic() -> None:
    assert outbox_entry(wrapped(case_opened("req-2")))["topic"] == CASES.name
