from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.domain.callers import submitter
from services.intake.domain.catalogue import IntakeChannel, UnknownService
from services.intake.domain.citizen_request import (
    CitizenRequest,
    ConsentRequired,
    InPersonOnly,
    NotOfferedOnChannel,
    RequestStatus,
    SubmissionForm,
    Submitter,
    submit,
)
from services.intake.domain.forms import InvalidForm
from services.intake.domain.identity import InvalidIdentity, Sex
from services.intake.domain.text import InvalidText
from shared.calendar import JAKARTA, WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.identity import Principal, Role
from tests.builders import CITIZEN, FORM_FIELDS, T0

CATALOGUE = load_catalogue()
CALENDAR = WorkingCalendar()
CODE = "KK_BARU"
FORM = SubmissionForm(
    service_code=CODE,
    nik="3516.0912.0480.0001",
    name="  Siti   Aminah ",
    phone="+62 812-3456-7890",
    preferred_channel=NotificationChannel.SMS,
    fields=FORM_FIELDS[CODE],
)
TRACKING_NUMBER = "K7M2Q9XP"


def submit_form(
    form: SubmissionForm = FORM,
    *,
    request_id: str = "req-1",
    tracking_number: str = TRACKING_NUMBER,
    now: datetime = T0,
) -> CitizenRequest:
    return submit(
        request_id=request_id,
        tracking_number=tracking_number,
        form=form,
        submitter=Submitter(actor=CITIZEN),
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        now=now,
    )


def test_submit_normalises_the_form_and_emits_one_request_submitted() -> None:
    request = submit_form()

    expected_applicant = Applicant(
        nik="3516091204800001",
        name="Siti Aminah",
        phone="+6281234567890",
        preferred_channel=NotificationChannel.SMS,
    )
    assert request.request_id == "req-1"
    assert request.tracking_number == TRACKING_NUMBER
    assert request.service_code == "KK_BARU"
    assert request.status is RequestStatus.SUBMITTED
    assert request.submitted_at == T0
    assert request.applicant == expected_applicant
    assert request.owner_phone == "+6281234567890"
    assert request.submitted_by == CITIZEN
    assert request.events == [
        RequestSubmitted(
            actor=CITIZEN,
            request_id="req-1",
            service_code="KK_BARU",
            tracking_number=TRACKING_NUMBER,
            applicant=expected_applicant,
            form={"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"},
            submitted_at=T0,
            deadline_working_days=1,
            expected_at=CALENDAR.due_at(T0, 1),
            missing_documents=["BUKU_NIKAH"],
        )
    ]


@pytest.mark.parametrize("code", ["KTP_REKAM", "IKD_AKTIVASI"])
def test_an_in_person_service_cannot_be_submitted(code: str) -> None:
    form = dataclasses.replace(FORM, service_code=code)

    with pytest.raises(InPersonOnly) as refused:
        submit_form(form)

    assert refused.value.service_code == code


def test_an_unknown_service_cannot_be_submitted() -> None:
    form = dataclasses.replace(FORM, service_code="SIM_BARU")

    with pytest.raises(UnknownService):
        submit_form(form)


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_an_empty_name_is_refused(name: str) -> None:
    form = dataclasses.replace(FORM, name=name)

    with pytest.raises(InvalidText, match="Nama wajib diisi"):
        submit_form(form)


@pytest.mark.parametrize("name", ["Siti\u0007\u001b[31mRed", "Siti\u202eanimA", "Si\u200bti"])
def test_a_name_with_hidden_characters_is_refused(name: str) -> None:
    form = dataclasses.replace(FORM, name=name)

    with pytest.raises(InvalidText, match="Tidak boleh berisi"):
        submit_form(form)


def test_a_name_is_stored_in_nfc() -> None:
    form = dataclasses.replace(FORM, name="Rene\u0301 Siti")

    request = submit_form(form)

    assert request.applicant.name == "Ren\u00e9 Siti"


@pytest.mark.parametrize(
    "form",
    [dataclasses.replace(FORM, nik="3516091204"), dataclasses.replace(FORM, phone="0211234567")],
    ids=["nik", "phone"],
)
def test_an_invalid_identity_is_refused(form: SubmissionForm) -> None:
    with pytest.raises(InvalidIdentity):
        submit_form(form)


def test_the_same_form_gives_the_same_digest_whatever_its_spelling_id_or_time() -> None:
    respelled = dataclasses.replace(FORM, name="Siti Aminah", phone="081234567890")

    first = submit_form()
    again = submit_form(
        respelled, request_id="req-2", tracking_number="P9Q2M7KX", now=T0.replace(year=2026)
    )

    assert first.form_digest == again.form_digest
    assert len(first.form_digest) == 64


@pytest.mark.parametrize(
    "other",
    [
        dataclasses.replace(FORM, service_code="KIA", fields=FORM_FIELDS["KIA"]),
        dataclasses.replace(FORM, nik="3516091204800002"),
        dataclasses.replace(FORM, name="Siti Aminah Binti Ahmad"),
        dataclasses.replace(FORM, phone="081234567891"),
        dataclasses.replace(FORM, preferred_channel=NotificationChannel.WHATSAPP),
    ],
    ids=["service_code", "nik", "name", "phone", "preferred_channel"],
)
def test_a_different_form_gives_a_different_digest(other: SubmissionForm) -> None:
    first = submit_form()
    different = submit_form(other)

    assert first.form_digest != different.form_digest


COUNTER = Actor(
    kind=ActorKind.STAFF,
    id="loket-1",
    role=Role.COUNTER_OFFICER,
    service_point="KANTOR_DINAS",
    channel=Channel.API,
)
OPERATOR = Actor(
    kind=ActorKind.OPERATOR,
    id="operator-1",
    role=Role.VILLAGE_OPERATOR,
    village="3516092003",
    channel=Channel.API,
)


@pytest.mark.parametrize(
    ("actor", "channel"),
    [
        (CITIZEN, IntakeChannel.APP),
        (CITIZEN.model_copy(update={"channel": Channel.SMS}), IntakeChannel.SMS),
        (CITIZEN.model_copy(update={"channel": Channel.WHATSAPP}), IntakeChannel.WHATSAPP),
        (COUNTER, IntakeChannel.COUNTER),
        (OPERATOR, IntakeChannel.VILLAGE_OPERATOR),
    ],
)
def test_a_submitter_is_named_by_the_catalogues_channel(
    actor: Actor, channel: IntakeChannel
) -> None:
    assert Submitter(actor=actor).channel is channel


@pytest.mark.parametrize("actor", [COUNTER, OPERATOR])
def test_someone_submitting_for_a_citizen_must_record_their_consent(actor: Actor) -> None:
    with pytest.raises(ConsentRequired):
        submit(
            request_id="req-1",
            tracking_number=TRACKING_NUMBER,
            form=FORM,
            submitter=Submitter(actor=actor),
            catalogue=CATALOGUE,
            calendar=CALENDAR,
            now=T0,
        )


def test_an_assisted_citizen_may_have_no_phone_but_a_citizen_alone_must() -> None:
    without_phone = dataclasses.replace(FORM, phone=None, consent=True)

    assisted = submit(
        request_id="req-1",
        tracking_number=TRACKING_NUMBER,
        form=without_phone,
        submitter=Submitter(actor=OPERATOR, village="3516092003"),
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        now=T0,
    )
    with pytest.raises(InvalidForm) as refused:
        submit_form(without_phone)

    assert assisted.applicant.phone is None
    assert assisted.owner_phone is None
    assert refused.value.field == "phone"


def test_the_expected_date_is_the_deadline_on_the_working_day_calendar() -> None:
    friday_evening = datetime(2025, 3, 7, 10, 0, tzinfo=UTC)  # 17:00 WIB, after closing

    request = submit_form(now=friday_evening)

    assert request.expected_at == CALENDAR.due_at(friday_evening, 1)
    assert request.expected_at.astimezone(JAKARTA).date() == date(2025, 3, 11)
    assert request.missing_documents == ["BUKU_NIKAH"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"nik": "3578091204800001"}, "kabupaten/kota lain"),
        ({"date_of_birth": date(1980, 4, 13)}, "Tanggal lahir"),
        ({"sex": Sex.FEMALE}, "Jenis kelamin"),
    ],
)
def test_the_nik_must_be_of_the_regency_and_agree_with_birth_date_and_sex(
    change: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidForm) as refused:
        submit_form(dataclasses.replace(FORM, **change))  # type: ignore[arg-type]

    assert refused.value.field == "nik"
    assert reason in str(refused.value)


def test_a_woman_born_on_the_twelfth_has_52_in_her_nik() -> None:
    form = dataclasses.replace(
        FORM, nik="3516095204800001", date_of_birth=date(1980, 4, 12), sex=Sex.FEMALE
    )

    assert submit_form(form).applicant.nik == "3516095204800001"


def test_a_service_not_offered_on_a_channel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    service = CATALOGUE.get("KK_BARU")
    sms_only = dataclasses.replace(service, channels=frozenset({IntakeChannel.SMS}))
    monkeypatch.setattr(CATALOGUE, "get", lambda code: sms_only)

    with pytest.raises(NotOfferedOnChannel) as refused:
        submit_form()

    assert refused.value.channel is IntakeChannel.APP


@pytest.mark.parametrize(
    ("claimed", "contact"),
    [("+62 813-7777-0001", "+6281377770001"), ("021-555-123", None), (None, None)],
)
def test_an_operators_own_phone_is_their_contact_for_citizens_without_one(
    claimed: str | None, contact: str | None
) -> None:
    operator = Principal(
        subject="operator-1",
        roles=frozenset({Role.VILLAGE_OPERATOR}),
        village="3516092003",
        phone_number=claimed,
    )

    assisted = submitter(operator)
    without_phone = submit(
        request_id="req-1",
        tracking_number=TRACKING_NUMBER,
        form=dataclasses.replace(FORM, phone=None, consent=True),
        submitter=assisted,
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        now=T0,
    )
    with_phone = submit(
        request_id="req-2",
        tracking_number=TRACKING_NUMBER,
        form=dataclasses.replace(FORM, consent=True),
        submitter=assisted,
        catalogue=CATALOGUE,
        calendar=CALENDAR,
        now=T0,
    )

    assert assisted.contact_phone == contact
    [event] = without_phone.events
    assert isinstance(event, RequestSubmitted)
    assert event.assisted_contact == contact
    [event] = with_phone.events
    assert isinstance(event, RequestSubmitted)
    assert event.assisted_contact is None
