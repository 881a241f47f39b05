"""The load-and-fault harness's books: a lost, a doubled and a half-written request each show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.fault_harness.books import (
    SEND_BACKS_ALERTED,
    Alert,
    AuditEntry,
    Discrepancy,
    Invalid,
    Notification,
    Planted,
    Records,
    Refused,
    SinkMessage,
    check_alerts,
    check_books,
    check_dead_letters,
    check_messages,
)
from shared.events.models.cases import CaseApproved, CaseOpened
from shared.events.models.requests import RequestSubmitted

NOON = datetime(2026, 12, 7, 5, tzinfo=UTC)


def whole(request_id: str) -> list[AuditEntry]:
    return [
        AuditEntry(f"{request_id}-submitted", RequestSubmitted.event_type, request_id),
        AuditEntry(f"{request_id}-opened", CaseOpened.event_type, request_id),
    ]


def books(**changes: object) -> Records:
    records = Records(
        accepted={"r1", "r2"},
        intake_requests={"r1": "API", "r2": "API"},
        cases={"r1", "r2"},
        audit=[*whole("r1"), *whole("r2")],
    )
    for name, value in changes.items():
        setattr(records, name, value)
    return records


def never(_: datetime) -> bool:
    return False


def test_whole_books_show_nothing() -> None:
    assert check_books(books(), never) == []


def test_a_lost_request_is_reported() -> None:
    records = books(intake_requests={"r1": "API"}, cases={"r1"}, audit=whole("r1"))

    found = check_books(records, never)

    assert {(d.check, d.about) for d in found} == {("lost", "r2")}
    assert len(found) == 4


def test_a_tracking_number_given_to_two_requests_is_reported() -> None:
    records = books(tracking_numbers={"r1": "K7M2Q9XP", "r2": "K7M2Q9XP"})

    found = check_books(records, never)

    assert found == [Discrepancy("doubled", "K7M2Q9XP", "tracking number of r1, r2")]
    assert check_books(books(tracking_numbers={"r1": "K7M2Q9XP", "r2": "P9Q2M7KX"}), never) == []


def test_a_doubled_event_is_reported() -> None:
    doubled = AuditEntry("r2-opened-again", CaseOpened.event_type, "r2")

    found = check_books(books(audit=[*whole("r1"), *whole("r2"), doubled]), never)

    assert found == [Discrepancy("doubled", "r2", f"{CaseOpened.event_type} 2 times in audit")]


def test_an_approval_answered_but_not_logged_is_lost() -> None:
    found = check_books(books(steps=[("r1", "approve")]), never)

    assert found == [Discrepancy("lost", "r1", f"1 steps answered, 0 {CaseApproved.event_type}")]


def test_a_refused_submission_that_left_a_request_is_half_written() -> None:
    records = books(
        intake_requests={"r1": "API", "r2": "API", "r3": "API"},
        refused=[
            Refused("key-3", first="503", retry="200", retry_request_id="r3", first_error="busy")
        ],
    )

    found = {(d.check, d.about) for d in check_books(records, never)}

    assert found == {("half-written", "key-3"), ("half-written", "r3")}


@pytest.mark.parametrize(
    ("first", "error"), [("ReadTimeout", None), ("503", "unavailable")], ids=["none", "timed out"]
)
def test_a_submission_of_unknown_outcome_found_by_its_retry_is_fine(
    first: str, error: str | None
) -> None:
    records = books(refused=[Refused("key-2", first=first, retry="200", first_error=error)])

    assert check_books(records, never) == []


def test_a_flawed_form_must_be_refused_with_a_reason_and_leave_nothing() -> None:
    records = books(
        intake_requests={"r1": "API", "r2": "API", "r3": "COUNTER"},
        invalid=[
            Invalid("key-4", "no name", "422", "Data permohonan tidak valid."),
            Invalid("key-5", "a NIK of 15 digits", "202"),
            Invalid("key-6", "no name", "400"),
            Invalid("key-7", "no name", "503"),
            Invalid("key-8", "no name", "no answer"),
        ],
    )

    found = {(d.check, d.about) for d in check_books(records, never)}

    assert found == {
        ("invalid taken", "key-5"),
        ("no reason", "key-6"),
        ("half-written", "r3"),
    }


def test_chat_applications_are_counted_against_what_intake_stores() -> None:
    records = books(
        intake_requests={"r1": "API", "r2": "API", "s1": "SMS"},
        cases={"r1", "r2", "s1"},
        audit=[*whole("r1"), *whole("r2"), *whole("s1")],
        chat_submissions=2,
    )

    assert check_books(records, never) == [
        Discrepancy("lost", "SMS and WhatsApp", "2 applications answered, 1 requests stored")
    ]


def test_a_message_twice_on_one_channel_and_ones_never_sent_are_reported() -> None:
    records = Records(
        notifications=[
            Notification("e1:citizen", "WHATSAPP", "SENT"),
            Notification("e2:citizen", "SMS", "SENT", tried=("WHATSAPP",)),
            Notification("e3:citizen", "SMS", "PENDING"),
            Notification("e4:reply", "WHATSAPP", "FAILED", tried=("WHATSAPP",)),
            Notification("e5:reply", "WHATSAPP", "FAILED", tried=("WHATSAPP",)),
            Notification("e6:reminder", "WHATSAPP", "PENDING", due=False),
        ],
        sink=[
            SinkMessage("WHATSAPP", "e1:citizen:WHATSAPP"),
            SinkMessage("WHATSAPP", "e1:citizen:WHATSAPP"),
            SinkMessage("WHATSAPP", "e2:citizen:WHATSAPP"),
            SinkMessage("WHATSAPP", "e4:reply:WHATSAPP"),
        ],
    )

    assert {(d.check, d.about) for d in check_messages(records)} == {
        ("sent twice", "e1:citizen:WHATSAPP"),
        ("lost", "e2:citizen"),
        ("not settled", "e3:citizen"),
        ("failed", "e5:reply"),
    }


def test_alerts_match_planted_violations_and_off_hours_explain_themselves() -> None:
    fee = Alert("illegal_fee-9", "ILLEGAL_FEE", "r1", ("verifier-a",), NOON)
    night = Alert("off_hours-3", "OFF_HOURS", "r2", ("signer-a",), NOON)
    stray = Alert("queue_jump-5", "QUEUE_JUMP", "r2", ("verifier-b",), NOON)
    records = Records(
        alerts=[fee, night, stray],
        planted=[Planted("ILLEGAL_FEE", None, "r1"), Planted("SELF_DEALING", "verifier-c", None)],
    )

    found = check_alerts(records, lambda at: at == NOON)

    assert {(d.check, d.about) for d in found} == {
        ("planted not found", "SELF_DEALING"),
        ("unexplained alert", "queue_jump-5"),
    }


def test_a_request_the_mix_sent_back_as_often_as_the_rule_counts_explains_its_alert() -> None:
    alerts = [
        Alert(f"repeated_send_backs-{n}", "REPEATED_SEND_BACKS", about, (), NOON)
        for n, about in enumerate(("r1", "r2"))
    ]
    steps = [("r1", "request-revision")] * SEND_BACKS_ALERTED + [("r2", "request-revision")]

    found = check_alerts(Records(alerts=alerts, steps=steps), never)

    assert [(d.check, d.about) for d in found] == [("unexplained alert", "repeated_send_backs-1")]


def test_dead_letters_are_reported_unless_explained() -> None:
    letters = {"adminduk.dlq.notify.v1": ["planted: bad seal", "KeyError: x"]}

    assert check_dead_letters(letters, explained=["planted"]) == [
        Discrepancy("dead letter", "adminduk.dlq.notify.v1", "KeyError: x")
    ]
