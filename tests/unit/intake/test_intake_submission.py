from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.citizen_request import (
    CitizenRequest,
    InPersonOnly,
    SubmissionForm,
    Submitter,
)
from services.intake.service_layer.submission import (
    IdempotencyConflict,
    SubmissionOutcome,
    get_request,
    idempotency_key_hash,
    submit_request,
)
from shared.calendar import WorkingCalendar
from shared.events.envelope import CloudEvent
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import NotificationChannel
from tests.builders import CITIZEN, FORM_FIELDS, T0
from tests.fakes import CallCounter, FakeIdempotencyKeys, FakeRequestRepository

CATALOGUE = load_catalogue()
CALENDAR = WorkingCalendar()
CODE = "AKTA_LAHIR"
FORM = SubmissionForm(
    service_code=CODE,
    nik="3516091204800001",
    name="Siti Aminah",
    phone="081234567890",
    preferred_channel=NotificationChannel.WHATSAPP,
    fields=FORM_FIELDS[CODE],
)


@pytest.fixture
def repository() -> FakeRequestRepository:
    return FakeRequestRepository()


@pytest.fixture
def outbox_ready(repository: FakeRequestRepository) -> CallCounter:
    counter = CallCounter()
    repository.outgoing.register(counter)
    return counter


@pytest.fixture
def keys() -> FakeIdempotencyKeys:
    return FakeIdempotencyKeys()


async def submit(
    repository: FakeRequestRepository,
    *,
    keys: FakeIdempotencyKeys | None = None,
    form: SubmissionForm = FORM,
    idempotency_key: str | None = None,
) -> SubmissionOutcome:
    return await submit_request(
        form=form,
        submitter=Submitter(actor=CITIZEN),
        idempotency_key=idempotency_key,
        repository=repository,
        idempotency_keys=keys or FakeIdempotencyKeys(),
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        now=T0,
    )


async def test_a_new_request_is_stored_with_its_event_and_the_relay_is_woken(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcome = await submit(repository)

    assert outcome.created is True
    request_id = outcome.request.request_id
    assert await repository.get(request_id) == dataclasses.replace(outcome.request, events=[])
    assert outbox_ready.keys == [request_id]
    found = await repository.find_by_tracking_number(outcome.request.tracking_number)
    assert found is not None
    assert found.request_id == request_id
    [event] = repository.outbox
    assert event.type == RequestSubmitted.event_type
    assert event.subject == request_id
    assert event.source == "/adminduk/intake"
    assert event.time == T0
    submitted = RequestSubmitted.model_validate(event.data)
    assert submitted.request_id == request_id
    assert submitted.actor == CITIZEN
    assert submitted.applicant.phone == "+6281234567890"


async def test_a_retry_with_the_same_key_and_form_returns_the_stored_request(
    repository: FakeRequestRepository, outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    first = await submit(repository, keys=keys, idempotency_key="key-12345")

    retry = await submit(repository, keys=keys, idempotency_key="key-12345")

    assert retry.created is False
    assert retry.request.request_id == first.request.request_id
    assert retry.request.form_digest == first.request.form_digest
    assert retry.request.tracking_number == first.request.tracking_number
    assert len(repository.requests) == 1
    assert len(repository.outbox) == 1
    assert outbox_ready.calls == 1


async def test_a_retry_with_the_same_key_and_another_form_is_a_conflict(
    repository: FakeRequestRepository, outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    first = await submit(repository, keys=keys, idempotency_key="key-12345")
    other_form = dataclasses.replace(
        FORM, service_code="AKTA_MATI", fields=FORM_FIELDS["AKTA_MATI"]
    )

    with pytest.raises(IdempotencyConflict):
        await submit(repository, keys=keys, form=other_form, idempotency_key="key-12345")

    stored = await repository.get(first.request.request_id)
    assert stored is not None
    assert stored.service_code == "AKTA_LAHIR"
    assert len(repository.outbox) == 1
    assert outbox_ready.calls == 1


async def test_different_keys_give_different_requests(
    repository: FakeRequestRepository, outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    first = await submit(repository, keys=keys, idempotency_key="key-aaaaa")
    second = await submit(repository, keys=keys, idempotency_key="key-bbbbb")

    assert first.request.request_id != second.request.request_id
    assert second.created is True


async def test_without_a_key_every_submission_is_a_new_request(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcomes = [await submit(repository) for _ in range(3)]

    assert len({outcome.request.request_id for outcome in outcomes}) == 3
    assert all(outcome.created for outcome in outcomes)
    assert len(repository.outbox) == 3
    assert outbox_ready.calls == 3


async def test_get_request_finds_a_stored_request_and_none_otherwise(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    outcome = await submit(repository)

    found = await get_request(request_id=outcome.request.request_id, repository=repository)

    assert found is not None
    assert found.request_id == outcome.request.request_id
    assert await get_request(request_id="no-such-request", repository=repository) is None


async def test_a_request_id_is_random_and_the_key_is_kept_only_as_a_hash(
    repository: FakeRequestRepository, outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    key = "key-12345"
    elsewhere = FakeRequestRepository()

    first = await submit(repository, keys=keys, idempotency_key=key)
    same_key_elsewhere = await submit(elsewhere, idempotency_key=key)

    request_id = first.request.request_id
    assert uuid.UUID(request_id).version == 4
    assert request_id != same_key_elsewhere.request.request_id
    assert keys.request_ids == {idempotency_key_hash(key): request_id}


async def test_a_refused_form_ties_no_key(
    repository: FakeRequestRepository, outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    in_person = dataclasses.replace(FORM, service_code="KTP_REKAM")

    with pytest.raises(InPersonOnly):
        await submit(repository, keys=keys, form=in_person, idempotency_key="key-12345")

    assert keys.request_ids == {}
    retry = await submit(repository, keys=keys, idempotency_key="key-12345")
    assert retry.created is True


class CrashAfterClaim(FakeRequestRepository):
    """Stores nothing the first time, as if the process died between the two writes."""

    def __init__(self) -> None:
        super().__init__()
        self.crashed = False

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        if not self.crashed:
            self.crashed = True
            raise ConnectionResetError("process died")
        return await super().add(request, outbox)


async def test_a_retry_after_a_crash_between_key_and_request_stores_the_request_once(
    outbox_ready: CallCounter, keys: FakeIdempotencyKeys
) -> None:
    repository = CrashAfterClaim()
    with pytest.raises(ConnectionResetError):
        await submit(repository, keys=keys, idempotency_key="key-12345")
    [claimed] = keys.request_ids.values()

    retry = await submit(repository, keys=keys, idempotency_key="key-12345")
    again = await submit(repository, keys=keys, idempotency_key="key-12345")

    assert retry.created is True
    assert retry.request.request_id == claimed
    assert again.created is False
    assert again.request.request_id == claimed
    assert list(repository.requests) == [claimed]
    assert len(repository.outbox) == 1


class ConcurrentClaim(FakeIdempotencyKeys):
    """Another submission with the same key claims it just before this one does."""

    def __init__(self, other_request_id: str) -> None:
        super().__init__()
        self.other_request_id = other_request_id

    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        self.request_ids.setdefault(key_hash, self.other_request_id)
        return await super().claim(key_hash=key_hash, request_id=request_id, now=now)


async def test_a_key_claimed_by_a_concurrent_submission_gives_its_request_id(
    repository: FakeRequestRepository, outbox_ready: CallCounter
) -> None:
    other = str(uuid.uuid4())

    outcome = await submit(repository, keys=ConcurrentClaim(other), idempotency_key="key-12345")

    assert outcome.request.request_id == other
    assert [event.subject for event in repository.outbox] == [other]
    assert RequestSubmitted.model_validate(repository.outbox[0].data).request_id == other
