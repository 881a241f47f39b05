from __future__ import annotations

import json
from typing import Any

from devstack.paths import REPO_ROOT
from services.asyncapi import SUBSCRIPTIONS
from shared.events import asyncapi
from shared.events.models import EVENT_TYPES
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    DeadlineBreached,
    DeadlineWarning,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.conversations import ConversationReply, DeliveryReported
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.requests import (
    DocumentAttached,
    RequestCancelled,
    RequestCompleted,
    RequestResubmitted,
    RequestSubmitted,
)

COMMITTED = REPO_ROOT / "docs" / "asyncapi.json"


def document() -> dict[str, Any]:
    return asyncapi.document(SUBSCRIPTIONS)


def test_the_committed_document_is_what_the_models_generate() -> None:
    assert COMMITTED.read_text() == asyncapi.render(SUBSCRIPTIONS), (
        "run: python -m services.asyncapi > docs/asyncapi.json"
    )


def test_every_event_type_has_a_message_on_its_topic() -> None:
    spec = document()

    assert spec["asyncapi"] == "3.0.0"
    titles = {message["title"] for message in spec["components"]["messages"].values()}
    assert titles == set(EVENT_TYPES)
    addresses = {channel["address"] for channel in spec["channels"].values()}
    assert addresses == {
        "adminduk.requests.v1",
        "adminduk.cases.v1",
        "adminduk.notifications.v1",
        "adminduk.identity.v1",
        "adminduk.appointments.v1",
        "adminduk.complaints.v1",
        "adminduk.conversations.v1",
        "adminduk.letters.v1",
        "adminduk.integrity.v1",
    }


def test_personal_data_is_marked_in_the_schemas() -> None:
    schemas = document()["components"]["schemas"]

    assert schemas["Applicant"]["properties"]["nik"]["personal_data"] is True
    assert schemas["CaseOpened"]["properties"]["contact_phone"]["personal_data"] is True
    assert "personal_data" not in schemas["CaseOpened"]["properties"]["request_id"]
    assert schemas["SignInCodeRequested"]["properties"]["phone"]["personal_data"] is True
    assert schemas["SignInCodeRequested"]["properties"]["code"]["personal_data"] is True
    assert "personal_data" not in schemas["Actor"]["properties"]["id"]
    assert schemas["LetterRegistered"]["properties"]["regarding"]["personal_data"] is True
    assert "personal_data" not in schemas["LetterRegistered"]["properties"]["letter_id"]


def test_writers_and_readers_follow_from_the_declarations() -> None:
    operations = document()["operations"]

    assert operations["intakeSendsRequests"]["action"] == "send"
    assert operations["processingSendsCases"]["action"] == "send"
    assert operations["processingSendsLetters"]["action"] == "send"
    assert operations["processingReceivesLetters"]["messages"] == [
        {"$ref": "#/channels/letters/messages/LetterRegistered"},
        {"$ref": "#/channels/letters/messages/LetterDisposed"},
    ]
    assert operations["auditReceivesLetters"]["action"] == "receive"
    assert operations["intakeSendsIdentity"]["action"] == "send"
    assert operations["processingReceivesRequests"]["messages"] == [
        {"$ref": f"#/channels/requests/messages/{RequestSubmitted.__name__}"},
        {"$ref": f"#/channels/requests/messages/{RequestCancelled.__name__}"},
        {"$ref": f"#/channels/requests/messages/{RequestResubmitted.__name__}"},
        {"$ref": f"#/channels/requests/messages/{DocumentAttached.__name__}"},
        {"$ref": f"#/channels/requests/messages/{RequestCompleted.__name__}"},
    ]
    assert operations["intakeReceivesCases"]["action"] == "receive"
    assert operations["notifyReceivesRequests"]["messages"] == [
        {"$ref": f"#/channels/requests/messages/{RequestSubmitted.__name__}"}
    ]
    assert operations["notifyReceivesCases"]["messages"] == [
        {"$ref": f"#/channels/cases/messages/{step.__name__}"}
        for step in (
            RevisionRequested,
            CaseApproved,
            DocumentIssued,
            CaseRejected,
            CaseCompleted,
            DeadlineWarning,
            DeadlineBreached,
        )
    ]
    assert operations["notifyReceivesLetters"]["messages"] == [
        {"$ref": f"#/channels/letters/messages/{step.__name__}"}
        for step in (DispositionReminded, DispositionEscalated)
    ]
    assert operations["notifyReceivesConversations"]["messages"] == [
        {"$ref": f"#/channels/conversations/messages/{ConversationReply.__name__}"},
        {"$ref": f"#/channels/conversations/messages/{DeliveryReported.__name__}"},
    ]
    assert operations["notifyReceivesIdentity"]["messages"] == [
        {"$ref": f"#/channels/identity/messages/{SignInCodeRequested.__name__}"}
    ]
    audited = [name for name in operations if name.startswith("auditReceives")]
    assert sorted(audited) == ["auditReceivesAppointments", "auditReceivesCases",
                               "auditReceivesComplaints", "auditReceivesConversations",
                               "auditReceivesIdentity", "auditReceivesIntegrity",
                               "auditReceivesLetters",
                               "auditReceivesNotifications", "auditReceivesRequests"]  # fmt: skip
    assert "notifyReceivesAppointments" in operations
    assert "notifyReceivesComplaints" in operations


def test_messages_are_structured_mode_cloudevents_with_their_content_type_header() -> None:
    spec = document()

    assert spec["defaultContentType"] == "application/cloudevents+json"
    headers = spec["components"]["schemas"]["KafkaHeaders"]
    assert headers["properties"]["content-type"]["const"] == "application/cloudevents+json"
    for message in spec["components"]["messages"].values():
        assert message["contentType"] == "application/cloudevents+json"
        assert message["headers"] == {"$ref": "#/components/schemas/KafkaHeaders"}


def test_the_document_is_plain_json() -> None:
    assert json.loads(asyncapi.render(SUBSCRIPTIONS)) == document()
