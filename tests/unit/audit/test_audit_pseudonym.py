from __future__ import annotations

import copy
import re

from services.audit.domain.pseudonym import pseudonym, pseudonymise
from shared.events.models.cases import CaseOpened
from shared.events.models.notifications import NotificationSent
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import NotificationChannel
from tests.builders import MOBILE, SYSTEM, T0, VALID_NIK, case_opened, request_submitted

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PSEUDONYM = re.compile(r"^hmac-sha256:[0-9a-f]{64}$")


def test_personal_data_of_a_submitted_request_is_replaced_including_the_applicant() -> None:
    data = request_submitted("req-1").model_dump(mode="json")

    masked = pseudonymise(RequestSubmitted, data, KEY)

    applicant = masked["applicant"]
    for field in ("nik", "name", "phone"):
        assert PSEUDONYM.match(applicant[field]), field
    assert applicant["preferred_channel"] == "WHATSAPP"
    assert masked["request_id"] == "req-1"
    assert masked["service_code"] == "KK_BARU"
    assert masked["submitted_at"] == data["submitted_at"]
    assert VALID_NIK not in repr(masked)
    assert "Siti" not in repr(masked)


def test_personal_data_of_an_opened_case_is_replaced() -> None:
    data = case_opened("req-1").model_dump(mode="json")

    masked = pseudonymise(CaseOpened, data, KEY)

    assert masked == data | {
        "applicant_name": pseudonym("Siti Aminah", KEY),
        "contact_phone": pseudonym(MOBILE, KEY),
    }
    assert PSEUDONYM.match(masked["contact_phone"])


def test_events_without_personal_data_are_unchanged() -> None:
    data = NotificationSent(
        actor=SYSTEM,
        notification_id="evt-1:citizen",
        about="req-1",
        channel=NotificationChannel.SMS,
        template="case_opened",
        provider_message_id="sms-1",
        sent_at=T0,
    ).model_dump(mode="json")

    assert pseudonymise(NotificationSent, data, KEY) == data


def test_the_same_value_gives_the_same_pseudonym_under_one_key_only() -> None:
    data = request_submitted().model_dump(mode="json")

    once = pseudonymise(RequestSubmitted, data, KEY)
    again = pseudonymise(RequestSubmitted, data, KEY)
    other_key = pseudonymise(RequestSubmitted, data, OTHER_KEY)

    assert once == again
    assert once["applicant"]["nik"] != other_key["applicant"]["nik"]
    assert once["applicant"]["nik"] == pseudonym(VALID_NIK, KEY)


def test_one_citizen_can_be_followed_across_event_types() -> None:
    submitted = pseudonymise(RequestSubmitted, request_submitted().model_dump(mode="json"), KEY)
    opened = pseudonymise(CaseOpened, case_opened().model_dump(mode="json"), KEY)

    assert submitted["applicant"]["phone"] == opened["contact_phone"]
    assert submitted["applicant"]["name"] == opened["applicant_name"]


def test_the_input_is_not_changed() -> None:
    data = request_submitted().model_dump(mode="json")
    original = copy.deepcopy(data)

    pseudonymise(RequestSubmitted, data, KEY)

    assert data == original
