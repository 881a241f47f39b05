"""What a village operator or counter officer is asked to pass on to a citizen without a phone:
like the citizens' own texts, one GSM-7 segment with the longest realistic values."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

import pytest

from services.notify.domain.notification import Notification
from shared.events.envelope import CloudEvent, Event
from shared.gsm7 import is_gsm7, segments
from tests.builders import T0
from tests.fakes import FakeNotify
from tests.unit.notify.test_notify_messages import consumer, without_phone
from tests.unit.notify.test_notify_templates import (
    CATALOGUE,
    LONG_NAME,
    SURVEY_URL,
    TEMPLATES,
    steps,
    submitted,
)

FORWARDED_SEGMENTS = {
    "request_received": 1,
    "request_received_documents_missing": 1,
    "revision_requested": 1,
    "revision_requested_documents": 2,
    "case_approved": 1,
    "document_issued": 1,
    "case_rejected": 1,
    "case_completed": 1,
}
"""Every template a receipt or a case step sends, and the segments it may take forwarded: one,
but for the officer's own words followed by a list of documents to send again."""
NAMES = (LONG_NAME, "Dewi Sartika Putri")
"""The longest name the citizens' tests use, cut in a forwarded SMS, and one of 18 characters,
the longest it shows whole."""


def realistic_events() -> Iterator[Event]:
    """Every receipt (no, one, and every missing document) and case step of every service a
    citizen may apply for without a visit, for each of `NAMES`."""
    for name, service in product(NAMES, CATALOGUE.all()):
        if service.in_person_only:
            continue
        mandatory = sorted(service.mandatory_documents)
        request = f"req-{name}-{service.code}"
        for missing in ([], *([document] for document in mandatory), mandatory):
            receipt = without_phone(submitted(service.code, missing))
            applicant = receipt.applicant.model_copy(update={"name": name})
            request_id = f"{request}-{len(missing)}-{''.join(missing)}"
            yield receipt.model_copy(update={"request_id": request_id, "applicant": applicant})
        for step in steps(mandatory):
            yield step.model_copy(update={"request_id": f"{request}-0-"})


async def forwarded(template: str) -> list[Notification]:
    notify = FakeNotify(survey_url=SURVEY_URL)
    dispatch = consumer(notify)
    for event in realistic_events():
        await dispatch(CloudEvent.wrap(event, source="/test", time=T0))
    return [
        message
        for message in notify.repository.notifications.values()
        if message.notification_id.endswith(":operator") and message.template == template
    ]


@pytest.mark.parametrize(("template", "allowed"), FORWARDED_SEGMENTS.items())
async def test_every_forwarded_sms_fits_its_segments_with_realistic_values(
    template: str, allowed: int
) -> None:
    messages = await forwarded(template)

    assert messages
    too_long = [
        (segments(message.text), message.text)
        for message in messages
        if segments(message.text) > allowed or not is_gsm7(message.text)
    ]
    assert too_long == []


async def test_a_forwarded_sms_says_whom_it_is_for_and_the_tracking_number() -> None:
    [receipt] = [
        message
        for message in await forwarded("request_received")
        if message.about == f"req-{LONG_NAME}-KK_BARU-0-"
    ]

    assert LONG_NAME.startswith("Raden Ayu Siti ")
    assert receipt.text == (
        "Utk Raden Ayu Siti... (K7M2Q9XP): KK baru diterima. Selesai Selasa, 29 September 2026. "
        "GRATIS, tolak pungli"
    )


def test_the_file_has_a_forwarded_text_for_what_receipts_and_case_steps_send() -> None:
    allowed = {
        name: item.sms.forwarded.max_segments
        for name, item in TEMPLATES.templates.items()
        if item.sms.forwarded is not None
    }

    assert allowed == FORWARDED_SEGMENTS
