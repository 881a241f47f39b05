from __future__ import annotations

import dataclasses

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.citizen_request import SubmissionForm
from services.intake.service_layer.submission import (
    IdempotencyConflict,
    SubmissionOutcome,
    get_request,
    submit_request,
)
from shared.events.models import NotificationChannel, RequestSubmitted
from tests.builders import T0
from tests.fakes import CallCounter, FakeRequestRepository

CATALOGUE = load_catalogue()
FORM = SubmissionForm(
    service_code="AKTA_LAHIR",
    nik="3516091204800001",
    name="Siti Aminah",
    phone="081234567890",
    preferred_channel=NotificationChannel.WHATSAPP,
)


@pytest.fixture
def repository() -> FakeRequestRepository:
    return FakeRequestRepository()


@pytest.fixture
def outbox_ready() -> CallCounter:
    return CallCounter()


async def submit(
    repository: FakeRequestRepository,
    outbox_ready: CallCounter,
    *,
    form: SubmissionForm = FORM,
    idempotency_key: str | None = None,
) -> SubmissionOutcome:
    return await submit_request(
        form=form,
        idempotency_key=idempotency_key,
        repository=repository,
        catalogue=CATALOGUE,
        outbox_ready=outbox_ready,
        now=T0,
    )


async def test_a_new_request_is_stored_with_its_event_and_the_relay_is_woken(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcome = await submit(repository, outbox_ready)

    assert outcome.created is True
    request_id = outcome.request.request_id
    assert await repository.get(request_id) == dataclasses.replace(outcome.request, events=[])
    assert outbox_ready.keys == [request_id]
    [event] = repository.outbox
    assert event.type == RequestSubmitted.event_type
    assert event.subject == request_id
    assert event.source == "/adminduk/intake"
    assert event.time == T0
    submitted = RequestSubmitted.model_validate(event.data)
    assert submitted.request_id == request_id
    assert submitted.applicant.phone == "+6281234567890"


async def test_a_retry_with_the_same_key_and_form_returns_the_stored_request(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    first = await submit(repository, outbox_ready, idempotency_key="key-12345")

    retry = await submit(repository, outbox_ready, idempotency_key="key-12345")

    assert retry.created is False
    assert retry.request.request_id == first.request.request_id
    assert retry.request.form_digest == first.request.form_digest
    assert len(repository.requests) == 1
    assert len(repository.outbox) == 1
    assert outbox_ready.calls == 1


async def test_a_retry_with_the_same_key_and_another_form_is_a_conflict(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    first = await submit(repository, outbox_ready, idempotency_key="key-12345")
    other_form = dataclasses.replace(FORM, service_code="AKTA_MATI")

    with pytest.raises(IdempotencyConflict):
        await submit(repository, outbox_ready, form=other_form, idempotency_key="key-12345")

    stored = await repository.get(first.request.request_id)
    assert stored is not None
    assert stored.service_code == "AKTA_LAHIR"
    assert len(repository.outbox) == 1
    assert outbox_ready.calls == 1


async def test_different_keys_give_different_requests(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    first = await submit(repository, outbox_ready, idempotency_key="key-aaaaa")
    second = await submit(repository, outbox_ready, idempotency_key="key-bbbbb")

    assert first.request.request_id != second.request.request_id
    assert second.created is True


async def test_without_a_key_every_submission_is_a_new_request(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcomes = [await submit(repository, outbox_ready) for _ in range(3)]

    assert len({outcome.request.request_id for outcome in outcomes}) == 3
    assert all(outcome.created for outcome in outcomes)
    assert len(repository.outbox) == 3
    assert outbox_ready.calls == 3


async def test_get_request_finds_a_stored_request_and_none_otherwise(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcome = await submit(repository, outbox_ready)

    found = await get_request(request_id=outcome.request.request_id, repository=repository)

    assert found is not None
    assert found.request_id == outcome.request.request_id
    assert await get_request(request_id="no-such-request", repository=repository) is None
