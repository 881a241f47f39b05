from __future__ import annotations

from shared.events.topics import CASES, REQUESTS
from shared.mongo import UNPUBLISHED, outbox_entry, outbox_fields, with_outbox
from tests.builders import VALID_NIK, case_opened, cipher, request_submitted, wrapped


def test_an_outbox_entry_names_the_topic_key_and_exact_payload_of_its_event() -> None:
    event = wrapped(request_submitted("req-1"))

    entry = outbox_entry(event, cipher())

    assert entry["id"] == event.id
    assert entry["topic"] == REQUESTS.name
    assert entry["key"] == "req-1"
    assert cipher().open(entry["payload"], context=f"outbox/{event.id}") == event.to_json_bytes()


def test_an_outbox_entry_keeps_its_payload_sealed_and_the_same_every_time() -> None:
    event = wrapped(request_submitted("req-1"))

    entry = outbox_entry(event, cipher())

    assert VALID_NIK not in entry["payload"]
    assert "Siti" not in entry["payload"]
    assert outbox_entry(event, cipher()) == entry


def test_an_outbox_entry_follows_the_event_type_to_its_topic() -> None:
    assert outbox_entry(wrapped(case_opened("req-2")), cipher())["topic"] == CASES.name


def test_a_new_document_is_marked_unpublished_only_with_items_in_its_outbox() -> None:
    event = wrapped(request_submitted("req-1"))

    assert outbox_fields([event], cipher()) == {
        "outbox": [outbox_entry(event, cipher())],
        UNPUBLISHED: True,
    }
    assert outbox_fields((), cipher()) == {"outbox": [], UNPUBLISHED: False}


def test_an_update_adding_items_marks_the_document_and_keeps_its_own_changes() -> None:
    event = wrapped(request_submitted("req-1"))
    update = {"$set": {"state": "OPEN"}, "$push": {"history": "opened"}, "$inc": {"revision": 1}}

    assert with_outbox(update, [event], cipher()) == {
        "$set": {"state": "OPEN", UNPUBLISHED: True},
        "$push": {"history": "opened", "outbox": {"$each": [outbox_entry(event, cipher())]}},
        "$inc": {"revision": 1},
    }
    assert with_outbox({}, (), cipher()) == {"$push": {"outbox": {"$each": []}}}
