from __future__ import annotations

import json

from devstack.paths import REPO_ROOT
from services.audit.entrypoints.consumer import AUDITED_TOPICS
from shared.events.asyncapi import READERS, document, render
from shared.events.models import EVENT_TYPES

COMMITTED = REPO_ROOT / "docs" / "asyncapi.json"


def test_the_committed_document_is_what_the_models_generate() -> None:
    assert COMMITTED.read_text() == render(), "run: python -m shared.events.asyncapi"


def test_every_event_type_has_a_message_on_its_topic() -> None:
    spec = document()

    assert spec["asyncapi"] == "3.0.0"
    titles = {message["title"] for message in spec["components"]["messages"].values()}
    assert titles == set(EVENT_TYPES)
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert addresses == {"adminduk.requests.v1", "adminduk.cases.v1", "adminduk.notifications.v1"}


def test_personal_data_is_marked_in_the_schemas() -> None:
    schemas = document()["components"]["schemas"]

    assert schemas["Applicant"]["properties"]["nik"]["personal_data"] is True
    assert schemas["CaseOpened"]["properties"]["contact_phone"]["personal_data"] is True
    assert "personal_data" not in schemas["CaseOpened"]["properties"]["request_id"]


def test_the_audit_reads_every_topic_the_document_says_it_reads() -> None:
    assert set(AUDITED_TOPICS) == {
        topic for topic, readers in READERS.items() if "audit" in readers
    }


def test_the_document_is_plain_json() -> None:
    assert json.loads(render()) == document()
