"""What each event tells whom, through notify's consumer: once per event and recipient, in plain
Indonesian, and at night only what the citizen is waiting for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.adapters.templates_file import load_templates
from services.notify.domain.messages import case_step
from services.notify.domain.notification import Notification
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.recipients import OperatorNotice, Recipients
from services.notify.entrypoints.consumer import subscription
from shared.calendar import JAKARTA
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    CollectionMethod,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import DeliveryChannel, NotificationChannel
from shared.messagebus import Dispatch
from tests.builders import CITIZEN, MOBILE, T0, request_submitted
from tests.fakes import FakeClock, FakeNotify

VERIFIER = Actor(kind=ActorKind.STAFF, id="verifier-1", role="verifier", channel=Channel.API)
VILLAGE_OPERATOR = Actor(
    kind=ActorKind.OPERATOR,
    id="operator-sooko",
    role="village_operator",
    village="3516092003",
    channel=Channel.API,
)
NIGHT = datetime(2025, 3, 3, 22, 0, tzinfo=JAKARTA).astimezone(UTC)
NEXT_MORNING = datetime(2025, 3, 4, 6, 0, tzinfo=JAKARTA).astimezone(UTC)


def envelope(event: Event) -> CloudEvent:
    return CloudEvent.wrap(event, source="/test", time=T0)


def consumer(notify: FakeNotify, now: datetime = T0) -> Dispatch:
    return subscription.bind(notify.context, FakeClock(now))


def without_phone(submitted: RequestSubmitted) -> RequestSubmitted:
    applicant = submitted.applicant.model_copy(update={"phone": None})
    return submitted.model_copy(
        update={
            "applicant": applicant,
            "actor": VILLAGE_OPERATOR,
            "consent_recorded": True,
            "assisted_contact": "+6281377770002",
        }
    )


def step_fields() -> dict[str, Any]:
    return {"actor": VERIFIER, "request_id": "req-1", "at": T0}


def only(notify: FakeNotify) -> Notification:
    [notification] = notify.repository.notifications.values()
    return notification


async def test_a_submitted_request_gets_one_receipt_however_often_its_event_arrives() -> None:
    notify = FakeNotify()
    event = envelope(request_submitted("req-1"))
    dispatch = consumer(notify)

    for _ in range(3):
        await dispatch(event)

    receipt = only(notify)
    assert receipt.notification_id == f"{event.id}:citizen"
    assert receipt.about == "req-1"
    assert receipt.recipient == MOBILE
    assert receipt.channel is DeliveryChannel.WHATSAPP
    assert receipt.template == "request_received"
    assert receipt.next_attempt_at == T0
    assert "Nomor lacak: K7M2Q9XP" in receipt.text
    assert "Perkiraan selesai: Selasa, 4 Maret 2025" in receipt.text
    assert "GRATIS" in receipt.text
    assert "pungli" in receipt.text
    assert receipt.approved_template is not None
    assert receipt.approved_template.name == "adminduk_permohonan_diterima"
    assert [n.notification_id for n in notify.handed_over] == [receipt.notification_id]


async def test_a_receipt_by_sms_names_the_documents_still_missing() -> None:
    notify = FakeNotify()
    submitted = request_submitted("req-1", service_code="AKTA_LAHIR")
    applicant = submitted.applicant.model_copy(
        update={"preferred_channel": NotificationChannel.SMS}
    )
    missing = ["BUKU_NIKAH", "SURAT_KELAHIRAN"]
    submitted = submitted.model_copy(update={"applicant": applicant, "missing_documents": missing})

    await consumer(notify)(envelope(submitted))

    receipt = only(notify)
    assert receipt.channel is DeliveryChannel.SMS
    assert receipt.template == "request_received_documents_missing"
    assert receipt.text == (
        "Permohonan akta kelahiran diterima, no. lacak K7M2Q9XP. Kirim: buku nikah, surat "
        "kelahiran. Perkiraan selesai Selasa, 4 Maret 2025. GRATIS, tolak pungli"
    )
    assert receipt.approved_template is None


@pytest.mark.parametrize("chat", list(NotificationChannel))
async def test_a_request_made_in_a_chat_gets_no_receipt_but_every_later_step(
    chat: NotificationChannel,
) -> None:
    """The chat's reply gave the tracking number; notify still learns who hears of the steps,
    and sends those that overtook the request."""
    notify = FakeNotify()
    dispatch = consumer(notify)
    approved = envelope(CaseApproved(state="APPROVED", **step_fields()))
    completed = envelope(CaseCompleted(state="COMPLETED", on_time=True, **step_fields()))
    submitted = request_submitted("req-1").model_copy(update={"acknowledged_on": chat})

    await dispatch(approved)
    await dispatch(envelope(submitted))
    await dispatch(completed)

    assert sorted(notify.repository.notifications) == sorted(
        [f"{approved.id}:citizen", f"{completed.id}:citizen"]
    )
    assert notify.recipients.parked == {}


async def test_news_for_a_citizen_without_a_phone_goes_to_their_operator_by_sms() -> None:
    notify = FakeNotify()
    submitted = envelope(without_phone(request_submitted("req-1")))
    approved = envelope(CaseApproved(state="APPROVED", **step_fields()))
    dispatch = consumer(notify)

    await dispatch(submitted)
    await dispatch(approved)
    await dispatch(approved)

    receipt, approval = notify.repository.notifications.values()
    assert receipt.notification_id == f"{submitted.id}:operator"
    assert approval.notification_id == f"{approved.id}:operator"
    for message in (receipt, approval):
        assert message.recipient == "+6281377770002"
        assert message.channel is DeliveryChannel.SMS
        assert message.text.startswith("Utk Siti Aminah (K7M2Q9XP): ")
    assert (receipt.template, approval.template) == ("request_received", "case_approved")
    assert notify.recipients.operator_notices.get("req-1", []) == []


async def test_without_their_operators_phone_what_they_are_owed_is_recorded() -> None:
    notify = FakeNotify()
    submitted = envelope(
        without_phone(request_submitted("req-1")).model_copy(update={"assisted_contact": None})
    )
    approved = envelope(CaseApproved(state="APPROVED", **step_fields()))
    dispatch = consumer(notify)

    await dispatch(submitted)
    await dispatch(approved)
    await dispatch(approved)

    assert notify.repository.notifications == {}
    assert notify.handed_over == []
    assert notify.recipients.operator_notices["req-1"] == [
        OperatorNotice(event_id=submitted.id, template="request_received"),
        OperatorNotice(event_id=approved.id, template="case_approved"),
    ]
    recipients = notify.recipients.recipients["req-1"]
    assert recipients.submitted_by == VILLAGE_OPERATOR
    assert recipients.assisted_contact is None


async def sent_for(step: Event, **notify_options: Any) -> Notification:
    notify = FakeNotify(**notify_options)
    dispatch = consumer(notify)
    await dispatch(envelope(request_submitted("req-1")))
    event = envelope(step)
    await dispatch(event)
    message = notify.repository.notifications[f"{event.id}:citizen"]
    assert message.recipient == MOBILE
    assert message.about == "req-1"
    assert "K7M2Q9XP" in message.text
    return message


async def test_a_send_back_lists_what_to_fix() -> None:
    message = await sent_for(
        RevisionRequested(
            state="NEEDS_REVISION",
            items=["Alamat tidak sesuai KK", "Tanda tangan belum ada"],
            **step_fields(),
        )
    )

    assert message.template == "revision_requested"
    assert "Alamat tidak sesuai KK; Tanda tangan belum ada" in message.text
    assert "Kirim ulang" not in message.text


async def test_a_send_back_names_the_documents_to_send_again() -> None:
    message = await sent_for(
        RevisionRequested(
            state="NEEDS_REVISION",
            items=["Foto buku nikah tidak terbaca"],
            documents=["BUKU_NIKAH"],
            **step_fields(),
        )
    )

    assert message.template == "revision_requested_documents"
    assert "Foto buku nikah tidak terbaca" in message.text
    assert "Kirim ulang: buku nikah." in message.text


async def test_an_approval_says_the_document_is_on_its_way() -> None:
    message = await sent_for(CaseApproved(state="APPROVED", **step_fields()))

    assert message.template == "case_approved"
    assert "sudah disetujui" in message.text


async def test_an_issued_document_gives_its_number_and_how_to_collect_it() -> None:
    message = await sent_for(
        DocumentIssued(
            state="ISSUED",
            document_number="3516-KK-2025-0042",
            collection=CollectionMethod.OFFICE,
            **step_fields(),
        )
    )

    assert message.template == "document_issued"
    assert "nomor 3516-KK-2025-0042" in message.text
    assert "Ambil di Dispendukcapil, bawa KTP-el" in message.text


async def test_a_refusal_gives_the_reason() -> None:
    message = await sent_for(
        CaseRejected(state="REJECTED", reason="NIK tidak terdaftar", **step_fields())
    )

    assert message.template == "case_rejected"
    assert "Alasan: NIK tidak terdaftar" in message.text


async def test_a_completed_request_asks_for_a_rating_at_its_own_survey_link() -> None:
    message = await sent_for(
        CaseCompleted(state="COMPLETED", on_time=True, **step_fields()),
        survey_url="https://survei.mojokertokab.example/skm/",
    )

    assert message.template == "case_completed"
    assert "https://survei.mojokertokab.example/skm/K7M2Q9XP" in message.text


async def test_a_step_that_overtakes_its_request_is_sent_once_the_request_is_known() -> None:
    notify = FakeNotify()
    dispatch = consumer(notify)
    approved = envelope(CaseApproved(state="APPROVED", **step_fields()))
    submitted = envelope(request_submitted("req-1"))

    await dispatch(approved)
    assert notify.repository.notifications == {}
    await dispatch(submitted)
    await dispatch(approved)

    assert sorted(notify.repository.notifications) == sorted(
        [f"{submitted.id}:citizen", f"{approved.id}:citizen"]
    )
    assert notify.repository.notifications[f"{approved.id}:citizen"].template == "case_approved"
    assert notify.recipients.parked == {}


def booking(phone: str | None, rescheduled_from: str | None = None) -> AppointmentBooked:
    return AppointmentBooked(
        actor=VERIFIER,
        appointment_id="apt-1",
        booking_number="B4K7M2Q9",
        service_code="KTP_REKAM",
        service_point="MPP_MOJOKERTO",
        starts_at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC),
        ends_at=datetime(2025, 3, 4, 2, 0, tzinfo=UTC),
        nik="3516091204800001",
        name="Siti Aminah",
        phone=phone,
        contact_channel=NotificationChannel.SMS,
        rescheduled_from=rescheduled_from,
        booked_at=T0,
    )


async def test_a_booked_visit_is_confirmed_to_the_phone_it_was_booked_with() -> None:
    notify = FakeNotify()
    event = envelope(booking("+6285700000999"))

    await consumer(notify)(event)
    await consumer(notify)(envelope(booking(None)))

    confirmation = only(notify)
    assert confirmation.notification_id == f"{event.id}:citizen"
    assert confirmation.about == "apt-1"
    assert confirmation.recipient == "+6285700000999"
    assert confirmation.channel is DeliveryChannel.SMS
    assert confirmation.text == (
        "Jadwal perekaman KTP-el: Selasa, 4 Maret 2025, 08.00-09.00 WIB, Mal Pelayanan Publik "
        "Kab. Mojokerto. No. booking B4K7M2Q9. Bawa KK. GRATIS"
    )


async def test_a_rescheduled_visit_is_told_as_moved_to_the_phone_it_was_booked_with() -> None:
    """Whoever has the booking number and the NIK's last four digits may move a visit: its
    citizen learns of it, and whom to call if it was not them."""
    notify = FakeNotify()
    event = envelope(booking("+6285700000999", rescheduled_from="apt-0"))

    await consumer(notify)(event)

    moved = only(notify)
    assert moved.notification_id == f"{event.id}:citizen"
    assert moved.template == "appointment_rescheduled"
    assert moved.recipient == "+6285700000999"
    assert moved.text == (
        "Jadwal perekaman KTP-el diubah: Selasa, 4 Maret 2025, 08.00-09.00 WIB, Mal Pelayanan "
        "Publik Kab. Mojokerto. Booking B4K7M2Q9. Bukan Anda? Hubungi kami"
    )


def cancellation(*, phone: str | None, rescheduled_to: str | None = None) -> AppointmentCancelled:
    return AppointmentCancelled(
        actor=CITIZEN,
        appointment_id="apt-1",
        booking_number="B4K7M2Q9",
        service_code="KTP_REKAM",
        service_point="MPP_MOJOKERTO",
        starts_at=datetime(2025, 3, 4, 1, 0, tzinfo=UTC),
        ends_at=datetime(2025, 3, 4, 2, 0, tzinfo=UTC),
        name="Siti Aminah",
        phone=phone,
        contact_channel=NotificationChannel.WHATSAPP,
        rescheduled_to=rescheduled_to,
        cancelled_at=T0,
    )


async def test_a_cancelled_visit_is_told_to_the_phone_it_was_booked_with_once() -> None:
    """Whoever has the booking number and the NIK's last four digits may cancel a visit: its
    citizen learns of it, and whom to call if it was not them. A move is told by the new
    visit's booking instead."""
    notify = FakeNotify()
    event = envelope(cancellation(phone="+6285700000999"))

    for _ in range(2):
        await consumer(notify)(event)
    await consumer(notify)(envelope(cancellation(phone=None)))
    await consumer(notify)(envelope(cancellation(phone=MOBILE, rescheduled_to="apt-2")))

    [told] = [n for n in notify.repository.notifications.values() if n.recipient]
    assert told.notification_id == f"{event.id}:citizen"
    assert told.template == "appointment_cancelled"
    assert (told.channel, told.recipient) == (DeliveryChannel.WHATSAPP, "+6285700000999")
    assert told.approved_template is not None
    assert told.approved_template.name == "adminduk_pembatalan_kunjungan"
    assert "janji perekaman KTP-el Anda telah dibatalkan" in told.text
    assert "Nomor booking: B4K7M2Q9" in told.text
    assert "Bila bukan Anda yang membatalkan, segera hubungi Dispendukcapil" in told.text
    [sms] = told.fallbacks
    assert sms.text == (
        "Janji perekaman KTP-el Selasa, 4 Maret 2025, 08.00-09.00 WIB, no. booking B4K7M2Q9, "
        "dibatalkan. Bila bukan Anda yang membatalkan, hubungi Dispendukcapil"
    )


def complaint(*, anonymous: bool, phone: str | None) -> ComplaintFiled:
    return ComplaintFiled(
        actor=VERIFIER,
        complaint_id="cmp-1",
        complaint_number="ADU-K7M2Q9XP",
        category=ComplaintCategory.ILLEGAL_FEE,
        description="Diminta uang di loket.",
        anonymous=anonymous,
        phone=phone,
        filed_at=T0,
    )


async def test_a_named_complaint_is_acknowledged_by_sms_with_its_number() -> None:
    notify = FakeNotify()
    named = envelope(complaint(anonymous=False, phone="+6285700000998"))

    await consumer(notify)(named)
    await consumer(notify)(envelope(complaint(anonymous=False, phone=None)))
    await consumer(notify)(envelope(complaint(anonymous=True, phone=None)))

    acknowledgement = only(notify)
    assert acknowledgement.notification_id == f"{named.id}:citizen"
    assert acknowledgement.template == "complaint_filed"
    assert acknowledgement.about == "cmp-1"
    assert acknowledgement.channel is DeliveryChannel.SMS
    assert "nomor ADU-K7M2Q9XP" in acknowledgement.text


@pytest.mark.parametrize("chat", list(NotificationChannel))
async def test_a_complaint_filed_in_a_chat_gets_no_second_acknowledgement(
    chat: NotificationChannel,
) -> None:
    """An `ADUAN` on WhatsApp is answered on WhatsApp, with its number, and by no SMS."""
    notify = FakeNotify()
    filed = complaint(anonymous=False, phone="+6285700000998")

    await consumer(notify)(envelope(filed.model_copy(update={"acknowledged_on": chat})))

    assert notify.repository.notifications == {}


def code_request(expires_at: datetime) -> SignInCodeRequested:
    return SignInCodeRequested(
        actor=Actor.system("intake"),
        challenge_id="ch-1",
        phone=MOBILE,
        channel=NotificationChannel.SMS,
        code="482913",
        expires_at=expires_at,
    )


async def test_a_sign_in_code_is_sent_at_once_even_at_night_unless_expired() -> None:
    notify = FakeNotify(quiet_hours=QuietHours())
    fresh = envelope(code_request(NIGHT + timedelta(minutes=5)))

    await consumer(notify, NIGHT)(fresh)
    await consumer(notify, NIGHT)(envelope(code_request(NIGHT)))

    code = only(notify)
    assert code.notification_id == f"{fresh.id}:citizen"
    assert code.next_attempt_at == NIGHT
    assert code.text.startswith("Kode masuk Adminduk Anda: 482913. Berlaku 5 menit.")


async def test_a_receipt_at_night_waits_until_six_in_the_morning() -> None:
    notify = FakeNotify(quiet_hours=QuietHours())

    await consumer(notify, NIGHT)(envelope(request_submitted("req-1")))

    receipt = only(notify)
    assert receipt.created_at == NIGHT
    assert receipt.next_attempt_at == NEXT_MORNING
    assert notify.handed_over == [receipt]


def test_the_receipt_replaces_the_case_opened_message_and_every_step_is_consumed() -> None:
    handled = {event.__name__ for event in subscription.events}

    assert handled == {
        "RequestSubmitted",
        "RevisionRequested",
        "CaseApproved",
        "DocumentIssued",
        "CaseRejected",
        "CaseCompleted",
        "AppointmentBooked",
        "AppointmentCancelled",
        "ComplaintFiled",
        "SignInCodeRequested",
        "ConversationReply",
        "DeliveryReported",
        "DeadlineWarning",
        "DeadlineBreached",
        "DispositionReminded",
        "DispositionEscalated",
    }


@pytest.mark.parametrize("method", [CollectionMethod.OFFICE, CollectionMethod.VILLAGE])
def test_a_reprinted_ktp_is_collected_with_the_family_card_not_the_lost_card(
    method: CollectionMethod,
) -> None:
    """The citizen may have lost the card being reprinted; other documents still ask for it."""
    labels = load_templates().labels
    step = DocumentIssued(
        state="ISSUED", document_number="3516-KTP-0042", collection=method, **step_fields()
    )

    def told(service_code: str) -> str:
        recipients = Recipients(
            request_id="req-1",
            tracking_number="K7M2Q9XP",
            service_code=service_code,
            name="Siti Aminah",
            phone=MOBILE,
            channel=NotificationChannel.SMS,
            submitted_by=Actor.system("intake"),
            assisted_contact=None,
        )
        return case_step(step, recipients, labels, "https://survei.example").values["collection"]

    assert told("KTP_CETAK").endswith("bawa KK")
    assert "KTP-el" not in told("KTP_CETAK")
    assert told("KK_BARU").endswith("bawa KTP-el")
