"""One open application per NIK and service: the rule, the catalogue's say, and submission on
fakes through every way a request comes in."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from services.intake.adapters.catalogue_file import (
    DEFAULT_CATALOGUE,
    InvalidCatalogue,
    load_catalogue,
)
from services.intake.conversations.domain import Conversation, HeldDocument, Step
from services.intake.conversations.turns import already_open
from services.intake.domain.citizen_request import (
    CLOSED,
    CitizenRequest,
    RequestStatus,
    StatusChange,
    SubmissionForm,
    Submitter,
)
from services.intake.domain.open_applications import (
    SUBMISSION_GRACE,
    AlreadyOpen,
    OpenApplication,
)
from services.intake.domain.open_applications import already_open as refusal
from services.intake.service_layer.submission import SubmissionOutcome, submit_request
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.values import NotificationChannel
from tests.builders import CITIZEN, FORM_FIELDS, MOBILE, T0, VALID_NIK, citizen_request, nik
from tests.fakes import FakeIdempotencyKeys, FakeRequestRepository
from tests.unit.intake.test_intake_api import FORM, answering, running_intake

CATALOGUE = load_catalogue()
HELD = OpenApplication(request_id="req-1", tracking_number="K7M2Q9XP", held_at=T0)
SMS_SENDER = Submitter(
    actor=Actor(kind=ActorKind.CITIZEN, id="citizen-1", channel=Channel.SMS), owner_phone=MOBILE
)


def form(service_code: str = "KTP_CETAK", *, applicant_nik: str = VALID_NIK) -> SubmissionForm:
    return SubmissionForm(
        service_code=service_code,
        nik=applicant_nik,
        name="Siti Aminah",
        phone="081234567890",
        preferred_channel=NotificationChannel.SMS,
        fields=FORM_FIELDS[service_code],
    )


async def submit(
    repository: FakeRequestRepository,
    submitted: SubmissionForm,
    *,
    submitter: Submitter = SMS_SENDER,
    key: str | None = None,
    keys: FakeIdempotencyKeys | None = None,
    minutes: float = 0,
) -> SubmissionOutcome:
    return await submit_request(
        form=submitted,
        submitter=submitter,
        idempotency_key=key,
        repository=repository,
        idempotency_keys=keys or FakeIdempotencyKeys(),
        catalogue=CATALOGUE,
        calendar=WorkingCalendar(),
        now=T0 + timedelta(minutes=minutes),
    )


# The catalogue


def test_the_catalogue_lets_only_services_for_another_person_be_open_several_times() -> None:
    several = {service.code for service in CATALOGUE.all() if service.several_open_allowed}

    assert several == {"KIA", "AKTA_LAHIR", "AKTA_MATI", "UBAH_DATA"}


def test_a_service_allows_one_open_request_unless_its_entry_says_otherwise(
    tmp_path: Path,
) -> None:
    raw = json.loads(DEFAULT_CATALOGUE.read_text())
    for service in raw["services"]:
        service.pop("several_open_allowed", None)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw))

    assert not any(service.several_open_allowed for service in load_catalogue(path).all())


def test_an_in_person_service_cannot_allow_several_open_requests(tmp_path: Path) -> None:
    raw = json.loads(DEFAULT_CATALOGUE.read_text())
    [rekam] = [service for service in raw["services"] if service["code"] == "KTP_REKAM"]
    rekam["several_open_allowed"] = True
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(raw))

    with pytest.raises(InvalidCatalogue, match="nor requests open"):
        load_catalogue(path)


# The rule


def test_an_open_request_blocks_a_new_application_of_its_nik_and_service() -> None:
    request = citizen_request("req-1", service_code="KTP_CETAK")

    assert HELD.blocks(request, nik=VALID_NIK, service_code="KTP_CETAK", now=T0 + timedelta(days=9))


@pytest.mark.parametrize("status", sorted(CLOSED))
def test_a_closed_request_blocks_nothing(status: RequestStatus) -> None:
    request = dataclasses.replace(citizen_request("req-1", service_code="KTP_CETAK"), status=status)

    assert not HELD.blocks(request, nik=VALID_NIK, service_code="KTP_CETAK", now=T0)


def test_a_request_not_stored_yet_blocks_only_while_its_submission_may_be_under_way() -> None:
    under_way = T0 + SUBMISSION_GRACE - timedelta(seconds=1)

    assert HELD.blocks(None, nik=VALID_NIK, service_code="KTP_CETAK", now=under_way)
    assert not HELD.blocks(None, nik=VALID_NIK, service_code="KTP_CETAK", now=T0 + SUBMISSION_GRACE)


def test_a_hold_naming_another_nik_or_services_request_blocks_nothing() -> None:
    request = citizen_request("req-1", service_code="KK_BARU")

    assert not HELD.blocks(request, nik=VALID_NIK, service_code="KTP_CETAK", now=T0)
    assert not HELD.blocks(request, nik=nik(2), service_code="KK_BARU", now=T0)


def test_the_refusal_names_the_open_request_in_full_only_to_who_may_see_it() -> None:
    request = citizen_request("req-1", service_code="KTP_CETAK", service_point="MPP_1")
    other_phone = dataclasses.replace(SMS_SENDER, owner_phone="+6281299990009")
    officer = Submitter(
        actor=Actor(kind=ActorKind.STAFF, id="o-1", role="counter_officer", channel=Channel.API),
        service_point="MPP_1",
    )
    elsewhere = dataclasses.replace(officer, service_point="MPP_2")

    shown = {
        who: refusal("KTP_CETAK", HELD, request, submitter=submitter).tracking_number
        for who, submitter in {
            "owner": SMS_SENDER,
            "another phone": other_phone,
            "anonymous form": Submitter(actor=CITIZEN),
            "officer of its point": officer,
            "officer elsewhere": elsewhere,
        }.items()
    }
    in_flight = refusal("KTP_CETAK", HELD, None, submitter=SMS_SENDER)

    assert shown == {
        "owner": "K7M2Q9XP",
        "another phone": "*****9XP",
        "anonymous form": "*****9XP",
        "officer of its point": "K7M2Q9XP",
        "officer elsewhere": "*****9XP",
    }
    assert in_flight.tracking_number == "*****9XP"
    assert "KTP_CETAK" in str(in_flight)


def test_the_chat_refusal_names_the_service_and_ends_the_conversation() -> None:
    conversation = Conversation(
        step=Step.CONFIRM,
        last_active=T0,
        service_code="KTP_CETAK",
        documents={"KK": HeldDocument(media_type="image/jpeg", size_bytes=9, sha256="0" * 64)},
    )

    turn = already_open(conversation, CATALOGUE, tracking_number="K7M2Q9XP", shown=True, now=T0)

    assert turn.conversation.step is Step.IDLE
    assert "Cetak ulang KTP-el" in turn.reply
    assert "STATUS K7M2Q9XP" in turn.reply
    assert turn.drop == ("KK",)


# Submission


async def test_a_second_application_while_the_first_is_open_is_refused_with_its_number() -> None:
    repository = FakeRequestRepository()
    first = await submit(repository, form())

    with pytest.raises(AlreadyOpen) as refused:
        await submit(repository, form(), minutes=60)

    assert refused.value.tracking_number == first.request.tracking_number
    assert list(repository.requests) == [first.request.request_id]
    assert len(repository.outbox) == 1


async def test_other_services_and_other_niks_are_not_held_back() -> None:
    repository = FakeRequestRepository()

    await submit(repository, form())
    await submit(repository, form("KK_HILANG"))
    await submit(repository, form(applicant_nik=nik(2)))

    assert len(repository.requests) == 3


async def test_a_service_that_allows_several_takes_a_second_request_and_holds_nothing() -> None:
    repository = FakeRequestRepository()
    twin = dataclasses.replace(
        form("AKTA_LAHIR"), fields={**FORM_FIELDS["AKTA_LAHIR"], "child_name": "Bima Santoso"}
    )

    await submit(repository, form("AKTA_LAHIR"))
    await submit(repository, twin)

    assert len(repository.requests) == 2
    assert repository.open_applications == {}


@pytest.mark.parametrize("status", sorted(CLOSED))
async def test_once_the_request_is_closed_the_nik_may_apply_again(status: RequestStatus) -> None:
    repository = FakeRequestRepository()
    first = await submit(repository, form())
    change = StatusChange(status=status, at=T0 + timedelta(hours=1))
    await repository.record_progress(
        first.request.request_id, "evt-1", change, even_if_current=False
    )

    again = await submit(repository, form(), minutes=120)

    assert again.created is True
    held = repository.open_applications[VALID_NIK, "KTP_CETAK"]
    assert held.request_id == again.request.request_id


async def test_a_retry_with_the_same_key_gets_the_first_request_not_a_refusal() -> None:
    repository, keys = FakeRequestRepository(), FakeIdempotencyKeys()
    first = await submit(repository, form(), key="sms:msg-1", keys=keys)

    retry = await submit(repository, form(), key="sms:msg-1", keys=keys, minutes=1)

    assert (retry.created, retry.request.request_id) == (False, first.request.request_id)


async def test_a_retry_after_a_crash_between_hold_and_store_finds_the_hold_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repository, keys = FakeRequestRepository(), FakeIdempotencyKeys()

    async def crash(request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        raise ConnectionError("engine gone")

    with monkeypatch.context() as patched:
        patched.setattr(repository, "add", crash)
        with pytest.raises(ConnectionError):
            await submit(repository, form(), key="sms:msg-1", keys=keys)

    retry = await submit(repository, form(), key="sms:msg-1", keys=keys, minutes=1)

    assert retry.created is True
    held = repository.open_applications[VALID_NIK, "KTP_CETAK"]
    assert held.request_id == retry.request.request_id


async def test_a_hold_left_by_a_crash_frees_the_nik_after_the_grace() -> None:
    repository = FakeRequestRepository()
    repository.open_applications[VALID_NIK, "KTP_CETAK"] = HELD

    with pytest.raises(AlreadyOpen) as refused:
        await submit(repository, form(), minutes=1)
    later = await submit(repository, form(), minutes=SUBMISSION_GRACE.total_seconds() / 60)

    assert refused.value.tracking_number == "*****9XP"
    assert later.created is True


# Every channel


async def test_the_api_refuses_a_second_application_with_409_already_open() -> None:
    async with running_intake({"mongo": answering(True)}) as intake:
        owner = {**intake.citizen(), "Idempotency-Key": "first-key-1"}
        first = await intake.client.post("/v1/requests", json=FORM, headers=owner)
        retry = await intake.client.post("/v1/requests", json=FORM, headers=owner)
        again = await intake.client.post("/v1/requests", json=FORM, headers=intake.citizen())
        stranger = await intake.client.post("/v1/requests", json=FORM)

    number = first.json()["tracking_number"]
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["request_id"] == first.json()["request_id"]
    assert again.status_code == 409
    assert again.json()["error"] == "already_open"
    assert number in again.json()["message"]
    assert stranger.status_code == 409
    assert number not in stranger.json()["message"]
    assert "*****" + number[-3:] in stranger.json()["message"]
