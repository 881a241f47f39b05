from __future__ import annotations

from datetime import timedelta

from services.processing.domain.case import CaseState, open_case
from services.processing.service_layer.cases import open_case_for_request
from shared.events.envelope import Actor
from shared.events.models import CaseOpened, NotificationChannel
from tests.builders import T0, applicant, request_submitted
from tests.fakes import CallCounter, FakeCaseRepository

OPENED_AT = T0 + timedelta(seconds=3)


def test_open_case_starts_in_submitted_and_emits_case_opened_with_contact_details() -> None:
    submitted = request_submitted("req-7", service_code="AKTA_LAHIR")

    case = open_case(submitted, now=OPENED_AT)

    assert case.request_id == "req-7"
    assert case.service_code == "AKTA_LAHIR"
    assert case.applicant == submitted.applicant
    assert case.state is CaseState.SUBMITTED
    assert case.opened_at == OPENED_AT
    assert case.events == [
        CaseOpened(
            actor=Actor.system("processing"),
            request_id="req-7",
            service_code="AKTA_LAHIR",
            state="SUBMITTED",
            opened_at=OPENED_AT,
            applicant_name="Siti Aminah",
            contact_phone="+6281234567890",
            contact_channel=NotificationChannel.WHATSAPP,
        )
    ]


def test_the_case_opened_contact_channel_is_the_applicant_s_choice() -> None:
    submitted = request_submitted().model_copy(
        update={"applicant": applicant(channel=NotificationChannel.SMS)}
    )

    [opened] = open_case(submitted, now=OPENED_AT).events

    assert isinstance(opened, CaseOpened)
    assert opened.contact_channel is NotificationChannel.SMS


async def test_a_submitted_request_opens_one_case_and_wakes_the_relay() -> None:
    repository = FakeCaseRepository()
    outbox_ready = CallCounter()

    await open_case_for_request(
        submitted=request_submitted("req-7"),
        event_id="evt-1",
        repository=repository,
        outbox_ready=outbox_ready,
        now=OPENED_AT,
    )

    stored = await repository.get("req-7")
    assert stored is not None
    assert stored.state is CaseState.SUBMITTED
    assert outbox_ready.calls == 1
    [event] = repository.outbox
    assert event.type == CaseOpened.event_type
    assert event.subject == "req-7"
    assert event.source == "/adminduk/processing"
    opened = CaseOpened.model_validate(event.data)
    assert opened.applicant_name == "Siti Aminah"
    assert opened.contact_phone == "+6281234567890"
    assert opened.contact_channel is NotificationChannel.WHATSAPP
    assert opened.opened_at == OPENED_AT


async def test_a_redelivered_event_opens_nothing_new() -> None:
    repository = FakeCaseRepository()
    outbox_ready = CallCounter()

    for delivery in range(2):
        await open_case_for_request(
            submitted=request_submitted("req-7"),
            event_id="evt-1",
            repository=repository,
            outbox_ready=outbox_ready,
            now=OPENED_AT + timedelta(minutes=delivery),
        )

    assert list(repository.cases) == ["req-7"]
    assert len(repository.outbox) == 1
    assert outbox_ready.calls == 1
    stored = await repository.get("req-7")
    assert stored is not None
    assert stored.opened_at == OPENED_AT
