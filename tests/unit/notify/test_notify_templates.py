"""The message templates file: checked in full when notify starts, rendered per channel, every SMS
within one GSM-7 segment with realistic values (or the segments the file says why it needs)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.appointments.service_points_file import load_service_points
from services.notify.adapters.templates_file import (
    DEFAULT_TEMPLATES,
    InvalidTemplates,
    load_templates,
)
from services.notify.domain import messages
from services.notify.domain.recipients import CaseStep, Recipients
from services.notify.domain.templates import Message
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    CollectionMethod,
    DeadlineBreached,
    DeadlineWarning,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import DeliveryChannel, NotificationChannel
from shared.gsm7 import is_gsm7, segments
from tests.builders import CITIZEN, T0

TEMPLATES = load_templates()
CATALOGUE = load_catalogue()
SERVICE_POINTS = load_service_points(CATALOGUE)

LONG_NAME = "Raden Ayu Siti Nurhayati Kusumawardhani Wijayaningrum"
LONGEST_DOCUMENT_NUMBER = "3516-LU-29092026-0001/DISPENDUKCAPIL/MOJOKERTO/2026/XII/0001"
"""60 characters: the most processing takes as a document number."""
SURVEY_URL = "https://survei.dispendukcapil.mojokertokab.go.id/adminduk"
LONGEST_DAY = datetime(2026, 9, 29, 6, 0, tzinfo=UTC)
"""Selasa, 29 September 2026: the longest day and month names a working day has."""
ITEMS = ["Foto buku nikah tidak terbaca, kirim foto yang jelas"]
REASON = "NIK tidak terdaftar sebagai penduduk Kabupaten Mojokerto"
OFFICER = Actor(kind=ActorKind.STAFF, id="verifier-1", role="verifier", channel=Channel.API)
PROCESSING = Actor.system("processing")
LONGEST_LETTER_ID = "2026-99999"
LONGEST_DISPOSITION_ID = "D9999"


def submitted(service_code: str, missing: list[str]) -> RequestSubmitted:
    return RequestSubmitted(
        actor=CITIZEN,
        request_id="req-1",
        service_code=service_code,
        tracking_number="K7M2Q9XP",
        applicant=Applicant(
            nik="3516091204800001",
            name=LONG_NAME,
            phone="+6281234567890",
            preferred_channel=NotificationChannel.SMS,
        ),
        submitted_at=LONGEST_DAY,
        deadline_working_days=1,
        expected_at=LONGEST_DAY,
        missing_documents=missing,
    )


def steps(mandatory: list[str]) -> Iterator[CaseStep]:
    common: dict[str, Any] = {"actor": OFFICER, "request_id": "req-1", "at": T0}
    yield RevisionRequested(state="NEEDS_REVISION", items=ITEMS, **common)
    yield RevisionRequested(state="NEEDS_REVISION", items=ITEMS, documents=mandatory, **common)
    yield CaseApproved(state="APPROVED", **common)
    for collection in CollectionMethod:
        yield DocumentIssued(
            state="ISSUED",
            document_number=LONGEST_DOCUMENT_NUMBER,
            collection=collection,
            **common,
        )
    yield CaseRejected(state="REJECTED", reason=REASON, **common)
    yield CaseCompleted(state="COMPLETED", on_time=True, **common)


def realistic_messages() -> Iterator[Message]:
    """Every template, with the longest values each service and service point gives it."""
    for service in CATALOGUE.all():
        if service.in_person_only:
            for point in SERVICE_POINTS.offering(service.code):
                yield messages.appointment_confirmation(booked(service.code, point.code), LABELS)
                moved = booked(service.code, point.code, rescheduled_from="apt-0")
                yield messages.appointment_confirmation(moved, LABELS)
                yield messages.appointment_reminder(booked(service.code, point.code), LABELS)
                yield messages.appointment_cancellation(cancelled(service.code, point.code), LABELS)
            continue
        mandatory = sorted(service.mandatory_documents)
        yield messages.receipt(submitted(service.code, []), LABELS)
        yield messages.receipt(submitted(service.code, mandatory), LABELS)
        recipients = Recipients.learnt_from(submitted(service.code, []))
        for step in steps(mandatory):
            yield messages.case_step(step, recipients, LABELS, SURVEY_URL)
    yield messages.complaint_acknowledgement(complaint())
    yield messages.sign_in_code(sign_in())
    yield from staff_messages()


def staff_messages() -> Iterator[Message]:
    """Every staff notice, with the longest names, services and service points it may carry."""
    common: dict[str, Any] = {"actor": PROCESSING, "at": T0, "due_at": LONGEST_DAY}
    for service in CATALOGUE.all():
        for point in SERVICE_POINTS.all():
            case = {"request_id": "req-1", "state": "IN_VERIFICATION", "holder": "verifier-1"}
            events: list[DeadlineWarning | DeadlineBreached] = [
                DeadlineWarning(percent=80, service_point=point.code, **case, **common),
                DeadlineBreached(service_point=point.code, **case, **common),
            ]
            for event in events:
                yield messages.case_deadline(
                    event,
                    to=LONG_NAME,
                    tracking_number="K7M2Q9XP",
                    service=LABELS.service(service.code),
                    holder=LONG_NAME,
                    labels=LABELS,
                )
    disposition = {
        "letter_id": LONGEST_LETTER_ID,
        "state": "IN_PROGRESS",
        "disposition_id": LONGEST_DISPOSITION_ID,
        "holder": "verifier-1",
    }
    for reason in ("unread", "due_soon"):
        reminded = DispositionReminded(reason=reason, **disposition, **common)
        yield messages.disposition_reminder(reminded, to=LONG_NAME)
    escalated = DispositionEscalated(
        holder_unit="KANTOR_DINAS", escalated_to="signer-1", **disposition, **common
    )
    yield messages.disposition_escalation(escalated, to=LONG_NAME, holder=LONG_NAME)


LABELS = TEMPLATES.labels


def booked(
    service_code: str, service_point: str, rescheduled_from: str | None = None
) -> AppointmentBooked:
    return AppointmentBooked(
        actor=CITIZEN,
        appointment_id="apt-1",
        booking_number="K7M2Q9XP",
        service_code=service_code,
        service_point=service_point,
        starts_at=LONGEST_DAY,
        ends_at=LONGEST_DAY + timedelta(hours=1),
        nik="3516091204800001",
        name=LONG_NAME,
        phone="+6281234567890",
        contact_channel=NotificationChannel.SMS,
        rescheduled_from=rescheduled_from,
        booked_at=T0,
    )


def cancelled(service_code: str, service_point: str) -> AppointmentCancelled:
    return AppointmentCancelled(
        actor=CITIZEN,
        appointment_id="apt-1",
        booking_number="K7M2Q9XP",
        service_code=service_code,
        service_point=service_point,
        starts_at=LONGEST_DAY,
        ends_at=LONGEST_DAY + timedelta(hours=1),
        name=LONG_NAME,
        phone="+6281234567890",
        contact_channel=NotificationChannel.SMS,
        cancelled_at=T0,
    )


def complaint() -> ComplaintFiled:
    return ComplaintFiled(
        actor=CITIZEN,
        complaint_id="cmp-1",
        complaint_number="ADU-K7M2Q9XP",
        category=ComplaintCategory.ILLEGAL_FEE,
        description="Diminta uang Rp50.000 oleh calo di depan kantor.",
        anonymous=False,
        phone="+6281234567890",
        filed_at=T0,
    )


def sign_in() -> SignInCodeRequested:
    return SignInCodeRequested(
        actor=CITIZEN,
        challenge_id="ch-1",
        phone="+6281234567890",
        channel=NotificationChannel.SMS,
        code="482913",
        expires_at=T0 + timedelta(minutes=5),
    )


def test_every_sms_fits_the_segments_its_template_allows_with_realistic_values() -> None:
    rendered = [
        (message.template, TEMPLATES.render(message, DeliveryChannel.SMS).text)
        for message in realistic_messages()
    ]

    assert {name for name, _ in rendered} == set(TEMPLATES.templates)
    too_long = [
        (name, segments(text), text)
        for name, text in rendered
        if segments(text) > TEMPLATES.get(name).sms.max_segments
    ]
    assert too_long == []
    assert all(is_gsm7(text) for _, text in rendered)


def test_only_officers_words_and_long_document_lists_may_take_a_second_segment() -> None:
    longer = {name for name, item in TEMPLATES.templates.items() if item.sms.max_segments > 1}

    assert longer == {
        "request_received_documents_missing",
        "revision_requested",
        "revision_requested_documents",
        "case_rejected",
    }


def test_a_receipt_missing_one_document_fits_one_segment_for_every_service() -> None:
    for service in CATALOGUE.all():
        for document in service.mandatory_documents:
            text = TEMPLATES.render(
                messages.receipt(submitted(service.code, [document]), LABELS), DeliveryChannel.SMS
            ).text
            assert segments(text) == 1, text


def test_every_service_document_and_service_point_has_a_short_label() -> None:
    documents = {d.code for service in CATALOGUE.all() for d in service.documents}

    assert {service.code for service in CATALOGUE.all()} <= set(LABELS.services)
    assert documents <= set(LABELS.documents)
    assert {point.code for point in SERVICE_POINTS.all()} <= set(LABELS.service_points)
    assert set(LABELS.collection) == set(CollectionMethod)


def test_a_whatsapp_message_names_its_approved_template_with_the_values_in_order() -> None:
    message = messages.receipt(submitted("AKTA_MATI", ["SAKSI"]), LABELS)

    rendered = TEMPLATES.render(message, DeliveryChannel.WHATSAPP)

    approved = rendered.approved_template
    assert approved is not None
    assert approved.name == "adminduk_permohonan_diterima_kurang_dokumen"
    assert approved.language == "id"
    assert approved.parameters == (
        LONG_NAME,
        "akta kematian",
        "K7M2Q9XP",
        "Selasa, 29 September 2026",
        "KTP-el 2 saksi",
    )
    assert rendered.text.startswith(f"Yth. {LONG_NAME},\npermohonan akta kematian Anda")
    assert "GRATIS" in rendered.text


def test_values_are_set_on_one_line_and_an_sms_in_gsm7() -> None:
    message = Message(
        "case_rejected",
        {
            "name": "Siti",
            "service": "KK baru",
            "tracking_number": "K7M2Q9XP",
            "reason": "Nama \u201cSiti\u201d tidak sesuai\n\nKK \u2013 periksa lagi",
        },
    )

    whatsapp = TEMPLATES.render(message, DeliveryChannel.WHATSAPP)
    sms = TEMPLATES.render(message, DeliveryChannel.SMS)

    assert whatsapp.approved_template is not None
    assert whatsapp.approved_template.parameters[-1] == (
        "Nama \u201cSiti\u201d tidak sesuai KK \u2013 periksa lagi"
    )
    assert 'ditolak: Nama "Siti" tidak sesuai KK - periksa lagi.' in sms.text
    assert sms.approved_template is None


def test_an_email_has_a_subject_and_a_body() -> None:
    rendered = TEMPLATES.preview("document_issued", DeliveryChannel.EMAIL)

    assert rendered.subject == "Dokumen KK baru terbit: 3516-KK-2026-0001"
    assert "Cara mendapatkannya: Ambil di kantor desa, bawa KTP-el." in rendered.text
    assert rendered.approved_template is None


Edit = Callable[[dict[str, Any]], None]


def broken(tmp_path: Path, edit: Edit) -> Path:
    document = json.loads(DEFAULT_TEMPLATES.read_text())
    edit(document)
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(document))
    return path


def set_text(template: str, channel: str, text: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        document["templates"][template][channel]["text"] = text

    return edit


def set_forwarded(template: str, text: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        document["templates"][template]["sms"]["forwarded"]["text"] = text

    return edit


def declare(template: str, parameter: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        document["templates"][template]["parameters"].append(parameter)
        document["templates"][template]["sample"][parameter] = "x"

    return edit


def remove(*path: str) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]

    return edit


def add_template(document: dict[str, Any]) -> None:
    document["templates"]["case_opened"] = document["templates"]["case_approved"]


def longer_without_reason(document: dict[str, Any]) -> None:
    document["templates"]["case_approved"]["sms"]["max_segments"] = 2


def forwarded_staff_notice(document: dict[str, Any]) -> None:
    document["templates"]["deadline_warning"]["sms"]["forwarded"] = {"text": "{service}"}


@pytest.mark.parametrize(
    ("edit", "reported"),
    [
        (set_text("case_approved", "sms", "No. {nik} disetujui"), "undeclared parameters ['nik']"),
        (set_text("case_approved", "email", "Yth. {Nama}"), "brace"),
        (declare("case_approved", "nik"), "does not fill: ['nik']"),
        (
            set_text("case_approved", "whatsapp", "{service} {name} {tracking_number}"),
            "in their order",
        ),
        (set_text("sign_in_code", "sms", "Kode Anda: {code} \u2705"), "GSM-7"),
        (longer_without_reason, "why_longer"),
        (remove("templates", "case_approved", "sms", "forwarded"), "missing: ['case_approved']"),
        (forwarded_staff_notice, "never forwarded: ['deadline_warning']"),
        (set_forwarded("case_completed", "Nilai: {survey_url} {nik}"), "undeclared parameters"),
        (remove("templates", "complaint_filed"), "templates missing: ['complaint_filed']"),
        (add_template, "templates nothing sends: ['case_opened']"),
        (remove("templates", "case_approved", "sample", "tracking_number"), "sample"),
        (remove("templates", "case_approved", "email"), "email"),
        (remove("labels", "collection", "VILLAGE"), "VILLAGE"),
    ],
    ids=[
        "undeclared-placeholder",
        "stray-brace",
        "parameter-nothing-fills",
        "whatsapp-order",
        "sms-not-gsm7",
        "longer-without-reason",
        "forwarded-text-missing",
        "forwarded-text-never-sent",
        "forwarded-undeclared-placeholder",
        "template-missing",
        "template-unknown",
        "sample-missing",
        "channel-missing",
        "collection-label-missing",
    ],
)
def test_a_broken_file_stops_the_service_naming_the_file_and_the_fault(
    tmp_path: Path, edit: Edit, reported: str
) -> None:
    path = broken(tmp_path, edit)

    with pytest.raises(InvalidTemplates) as refused:
        load_templates(path)

    assert str(path) in str(refused.value)
    assert reported in str(refused.value)


def test_a_missing_or_unreadable_file_is_refused(tmp_path: Path) -> None:
    not_json = tmp_path / "templates.json"
    not_json.write_text("{")

    with pytest.raises(InvalidTemplates, match="cannot read"):
        load_templates(tmp_path / "missing.json")
    with pytest.raises(InvalidTemplates, match="broken"):
        load_templates(not_json)


def test_staff_notices_and_the_news_of_a_visit_fit_one_sms_segment() -> None:
    names = {
        "appointment_reminder",
        "appointment_rescheduled",
        "appointment_cancelled",
        "deadline_warning",
        "deadline_breached",
        "disposition_due_soon",
        "disposition_unread",
        "disposition_escalated",
    }
    texts = [
        TEMPLATES.render(message, DeliveryChannel.SMS).text
        for message in realistic_messages()
        if message.template in names
    ]

    assert len(texts) > len(names)
    assert max(segments(text) for text in texts) == 1
    assert all(TEMPLATES.get(name).sms.max_segments == 1 for name in names)


def test_a_staff_notice_is_an_email_with_an_indonesian_subject() -> None:
    breach = next(
        message for message in staff_messages() if message.template == "deadline_breached"
    )

    rendered = TEMPLATES.render(breach, DeliveryChannel.EMAIL)

    assert rendered.subject == "TERLAMBAT: kasus K7M2Q9XP melewati batas waktu"
    assert rendered.text.startswith(f"Yth. {LONG_NAME},")
    assert "Batas waktu: Selasa, 29 September 2026 pukul 13.00 WIB" in rendered.text
