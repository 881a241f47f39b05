"""Booking, cancelling and rescheduling visits, on the in-memory stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from services.intake.adapters.catalogue_file import load_catalogue
from services.intake.appointments.agenda import Agenda, BookingInterrupted
from services.intake.appointments.domain.appointment import (
    Appointment,
    AppointmentStatus,
    NotActive,
    Proof,
)
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.domain.places import SlotFull, SlotKey
from services.intake.appointments.domain.refusals import AlreadyBooked, NotInPerson, SameSlot
from services.intake.appointments.service_layer import (
    AppointmentForm,
    Forbidden,
    NotFound,
    book_appointment,
    cancel_appointment,
    next_free_days,
    reschedule_appointment,
)
from services.intake.appointments.service_points_file import load_service_points
from services.intake.domain.callers import submitter
from services.intake.domain.citizen_request import NotOfferedOnChannel, Submitter
from services.intake.domain.identity import InvalidIdentity
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.requests import Applicant
from shared.events.models.values import NotificationChannel
from shared.identity import Principal, Role
from tests.builders import T0, VALID_NIK
from tests.fakes import CallCounter
from tests.fakes_appointments import FakeAppointmentRepository, FakeSlotPlaces

CATALOGUE = load_catalogue()
TUESDAY = date(2025, 3, 4)
MOJOSARI_8 = SlotKey(service_point="KEC_MOJOSARI", day=TUESDAY, slot="08:00-09:00")
FORM = AppointmentForm(
    service_code="KTP_REKAM",
    service_point="KEC_MOJOSARI",
    day=TUESDAY,
    slot="08:00-09:00",
    nik=VALID_NIK,
    name="Siti Aminah",
    phone="081234567890",
    preferred_channel=NotificationChannel.WHATSAPP,
)
ANONYMOUS = submitter(None)
OFFICER = submitter(
    Principal(
        subject="officer-1",
        roles=frozenset({Role.COUNTER_OFFICER}),
        service_point="KANTOR_DINAS",
    )
)
SMS_SENDER = Submitter(
    actor=Actor(kind=ActorKind.CITIZEN, id="citizen-1", role="citizen", channel=Channel.SMS),
    owner_phone="+6281234567890",
)


def citizen(phone: str) -> Submitter:
    """A citizen signed in with `phone`, as intake's token proves it."""
    return submitter(
        Principal(subject="citizen-1", roles=frozenset({Role.CITIZEN}), phone_number=phone)
    )


OWNER = citizen("+6281234567890")


@dataclasses.dataclass
class Office:
    appointments: FakeAppointmentRepository
    places: FakeSlotPlaces
    ready: CallCounter
    agenda: Agenda

    def events(self, kind: type[Event]) -> list[CloudEvent]:
        return [event for event in self.appointments.outbox if event.type == kind.event_type]


@pytest.fixture
def office() -> Office:
    appointments, places, ready = FakeAppointmentRepository(), FakeSlotPlaces(), CallCounter()
    rules = BookingRules(service_points=load_service_points(CATALOGUE), calendar=WorkingCalendar())
    appointments.outgoing.register(ready)
    agenda = Agenda(appointments=appointments, places=places, rules=rules)
    return Office(appointments, places, ready, agenda)


def nik(serial: int) -> str:
    return f"351609120480{serial:04d}"


async def book(office: Office, *, booker: Submitter = ANONYMOUS, **changes: Any) -> Appointment:
    """Books FORM with `changes` at T0."""
    return await book_appointment(
        form=dataclasses.replace(FORM, **changes),
        booker=booker,
        catalogue=CATALOGUE,
        agenda=office.agenda,
        now=T0,
    )


async def test_a_booked_visit_takes_a_place_holds_the_nik_and_is_announced(
    office: Office,
) -> None:
    booked = await book(office)

    assert booked.status is AppointmentStatus.BOOKED
    assert office.places.bookings[MOJOSARI_8] == [booked.booking_number]
    assert office.appointments.holders[(VALID_NIK, "KTP_REKAM")] == booked.booking_number
    [event] = office.events(AppointmentBooked)
    assert event.subject == booked.appointment_id
    assert event.data["booking_number"] == booked.booking_number
    assert event.data["phone"] == "+6281234567890"
    assert event.data["starts_at"] == "2025-03-04T01:00:00Z"
    assert office.ready.keys == [booked.booking_number]
    assert office.ready.events == [event]


async def test_a_second_visit_for_the_same_service_names_the_first(office: Office) -> None:
    first = await book(office)

    with pytest.raises(AlreadyBooked) as refused:
        await book(office, booker=OWNER, day=date(2025, 3, 5))

    assert refused.value.booking_number == first.booking_number
    assert list(office.appointments.appointments) == [first.booking_number]
    assert sum(len(taken) for taken in office.places.bookings.values()) == 1
    other_service = await book(office, service_code="IKD_AKTIVASI")
    assert other_service.status is AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    ("booker", "phone", "shown"),
    [
        (ANONYMOUS, "081234567890", False),
        (ANONYMOUS, "089999999999", False),
        (citizen("+6289999999999"), "081234567890", False),
        (citizen("+6281234567890"), "089999999999", True),
        (SMS_SENDER, "081234567890", True),
        (OFFICER, None, True),
    ],
    ids=[
        "owner-s-phone-typed-in-the-form",
        "another-phone",
        "signed-in-with-another-phone",
        "signed-in-with-the-owner-s-phone",
        "sms-from-the-owner-s-phone",
        "counter-officer",
    ],
)
async def test_only_a_proven_owner_or_an_officer_learns_the_number_of_a_nik_s_visit(
    office: Office, booker: Submitter, phone: str | None, shown: bool
) -> None:
    """Anyone may know a NIK and its owner's phone; the number would let them cancel the visit."""
    first = await book(office)

    with pytest.raises(AlreadyBooked) as refused:
        await book(office, booker=booker, phone=phone, day=date(2025, 3, 5))

    if shown:
        assert refused.value.booking_number == first.booking_number
    else:
        assert refused.value.booking_number == "*****" + first.booking_number[-3:]
        assert first.booking_number not in str(refused.value)
        assert "SMS/WhatsApp konfirmasi" in str(refused.value)


async def test_a_full_slot_is_refused_with_the_nearest_free_days_and_leaves_nothing(
    office: Office,
) -> None:
    for serial in range(2, 5):
        await book(office, nik=nik(serial))
    stored = dict(office.appointments.appointments)

    with pytest.raises(SlotFull) as refused:
        await book(office)

    assert refused.value.code == "slot_full"
    free_days = [day.day for day in refused.value.free_days]
    assert free_days == [TUESDAY, date(2025, 3, 5), date(2025, 3, 6)]
    assert [slot.visit.key.slot for slot in refused.value.free_days[0].slots] == [
        "09:00-10:00",
        "10:00-11:00",
        "11:00-12:00",
    ]
    assert "Selasa, 4 Maret 2025 (jam 09.00-10.00" in str(refused.value)
    assert office.appointments.appointments == stored
    assert (VALID_NIK, "KTP_REKAM") not in office.appointments.holders
    assert len(office.places.bookings[MOJOSARI_8]) == 3


async def test_cancelling_frees_the_place_and_the_nik(office: Office) -> None:
    booked = await book(office)

    cancelled = await cancel_appointment(
        booking_number=booked.booking_number,
        proof=Proof(nik_last4="0001"),
        actor=ANONYMOUS.actor,
        agenda=office.agenda,
        now=T0,
    )

    assert cancelled.status is AppointmentStatus.CANCELLED
    assert office.places.bookings[MOJOSARI_8] == []
    assert office.appointments.holders == {}
    [event] = office.events(AppointmentCancelled)
    assert event.data == {
        "actor": ANONYMOUS.actor.model_dump(mode="json"),
        "appointment_id": booked.appointment_id,
        "booking_number": booked.booking_number,
        "service_code": "KTP_REKAM",
        "service_point": "KEC_MOJOSARI",
        "starts_at": "2025-03-04T01:00:00Z",
        "ends_at": "2025-03-04T02:00:00Z",
        "name": "Siti Aminah",
        "phone": "+6281234567890",
        "contact_channel": "WHATSAPP",
        "rescheduled_to": None,
        "cancelled_at": "2025-03-03T01:30:00Z",
    }
    assert (await book(office)).status is AppointmentStatus.BOOKED
    with pytest.raises(NotActive):
        await cancel_appointment(
            booking_number=booked.booking_number,
            proof=Proof(nik_last4="0001"),
            actor=ANONYMOUS.actor,
            agenda=office.agenda,
            now=T0,
        )


@pytest.mark.parametrize(
    ("proof", "refusal"),
    [
        (Proof(nik_last4="0002"), NotFound),
        (Proof(phone="+6289999999999"), NotFound),
        (Proof(service_point="MPP_MOJOKERTO"), Forbidden),
    ],
)
async def test_only_its_citizen_or_an_officer_of_its_point_cancels_a_visit(
    office: Office, proof: Proof, refusal: type[Exception]
) -> None:
    booked = await book(office)

    with pytest.raises(refusal):
        await cancel_appointment(
            booking_number=booked.booking_number,
            proof=proof,
            actor=ANONYMOUS.actor,
            agenda=office.agenda,
            now=T0,
        )

    assert office.places.bookings[MOJOSARI_8] == [booked.booking_number]


async def test_rescheduling_books_the_new_slot_and_frees_the_old(office: Office) -> None:
    old = await book(office)
    new_slot = SlotKey(service_point="KANTOR_DINAS", day=date(2025, 3, 5), slot="10:00-11:00")

    new = await reschedule_appointment(
        booking_number=old.booking_number,
        day=new_slot.day,
        slot=new_slot.slot,
        service_point="KANTOR_DINAS",
        proof=Proof(phone="+6281234567890"),
        actor=ANONYMOUS.actor,
        agenda=office.agenda,
        now=T0,
    )

    assert new.status is AppointmentStatus.BOOKED
    assert new.rescheduled_from == old.appointment_id
    assert new.citizen == old.citizen
    assert office.places.bookings == {MOJOSARI_8: [], new_slot: [new.booking_number]}
    assert office.appointments.holders[(VALID_NIK, "KTP_REKAM")] == new.booking_number
    stored_old = await office.appointments.get(old.booking_number)
    assert stored_old is not None
    assert stored_old.status is AppointmentStatus.CANCELLED
    assert stored_old.replaced_by == new.booking_number
    [cancelled] = office.events(AppointmentCancelled)
    assert cancelled.data["rescheduled_to"] == new.appointment_id
    booked = office.events(AppointmentBooked)
    assert booked[-1].data["rescheduled_from"] == old.appointment_id
    with pytest.raises(AlreadyBooked) as again:
        await book(office, booker=OWNER, day=date(2025, 3, 6))
    assert again.value.booking_number == new.booking_number


async def test_rescheduling_to_a_full_or_the_same_slot_keeps_the_visit(office: Office) -> None:
    old = await book(office)
    for serial in range(2, 5):
        await book(office, nik=nik(serial), slot="09:00-10:00")

    for slot, refusal in (("09:00-10:00", SlotFull), ("08:00-09:00", SameSlot)):
        with pytest.raises(refusal):
            await reschedule_appointment(
                booking_number=old.booking_number,
                day=TUESDAY,
                slot=slot,
                service_point=None,
                proof=Proof(nik_last4="0001"),
                actor=ANONYMOUS.actor,
                agenda=office.agenda,
                now=T0,
            )

    stored = await office.appointments.get(old.booking_number)
    assert stored is not None
    assert stored.status is AppointmentStatus.BOOKED
    assert len(office.appointments.appointments) == 4
    assert office.events(AppointmentCancelled) == []


async def test_an_interrupted_booking_gives_its_place_up_once_it_timed_out(office: Office) -> None:
    for serial in range(2, 4):
        await book(office, nik=nik(serial))
    interrupted = await _interrupted_booking(office, nik(4))

    with pytest.raises(SlotFull):
        await book(office)
    later = T0 + office.agenda.rules.holding_timeout
    booked = await book_appointment(
        form=FORM, booker=ANONYMOUS, catalogue=CATALOGUE, agenda=office.agenda, now=later
    )

    assert booked.booking_number in office.places.bookings[MOJOSARI_8]
    assert interrupted.booking_number not in office.places.bookings[MOJOSARI_8]
    abandoned = await office.appointments.get(interrupted.booking_number)
    assert abandoned is not None
    assert abandoned.status is AppointmentStatus.ABANDONED


async def test_a_hold_on_an_interrupted_or_past_visit_is_taken_over(office: Office) -> None:
    interrupted = await _interrupted_booking(office, VALID_NIK)
    later = T0 + office.agenda.rules.holding_timeout

    booked = await book_appointment(
        form=FORM, booker=ANONYMOUS, catalogue=CATALOGUE, agenda=office.agenda, now=later
    )
    after_visit = booked.ends_at + timedelta(days=1)
    again = await book_appointment(
        form=dataclasses.replace(FORM, day=after_visit.date() + timedelta(days=1)),
        booker=ANONYMOUS,
        catalogue=CATALOGUE,
        agenda=office.agenda,
        now=after_visit,
    )

    assert interrupted.booking_number != booked.booking_number
    assert office.appointments.holders[(VALID_NIK, "KTP_REKAM")] == again.booking_number


async def test_a_booking_abandoned_before_it_was_confirmed_gives_everything_back(
    office: Office,
) -> None:
    class AbandoningRepository(FakeAppointmentRepository):
        async def save(
            self,
            appointment: Appointment,
            outbox: Sequence[CloudEvent],
            *,
            expected: AppointmentStatus,
        ) -> bool:
            self.appointments[appointment.booking_number].status = AppointmentStatus.ABANDONED
            return await super().save(appointment, outbox, expected=expected)

    appointments = AbandoningRepository()
    agenda = dataclasses.replace(office.agenda, appointments=appointments)

    with pytest.raises(BookingInterrupted):
        await book_appointment(
            form=FORM, booker=ANONYMOUS, catalogue=CATALOGUE, agenda=agenda, now=T0
        )

    assert office.places.bookings[MOJOSARI_8] == []
    assert appointments.holders == {}
    assert appointments.outbox == []


@pytest.mark.parametrize(
    ("changes", "booker", "refusal", "reason"),
    [
        ({"service_code": "KK_BARU"}, ANONYMOUS, NotInPerson, "diajukan secara daring"),
        ({"phone": None}, ANONYMOUS, InvalidIdentity, "Nomor HP wajib diisi"),
        ({"nik": "3578091204800001"}, ANONYMOUS, InvalidIdentity, "kabupaten/kota lain"),
        (
            {},
            submitter(
                Principal(
                    subject="op-1",
                    roles=frozenset({Role.VILLAGE_OPERATOR}),
                    village="3516092001",
                )
            ),
            NotOfferedOnChannel,
            "KTP_REKAM",
        ),
    ],
)
async def test_bookings_the_rules_refuse_store_nothing(
    office: Office,
    changes: dict[str, Any],
    booker: Submitter,
    refusal: type[Exception],
    reason: str,
) -> None:
    with pytest.raises(refusal, match=reason):
        await book(office, booker=booker, **changes)

    assert office.appointments.appointments == {}
    assert office.places.bookings == {}


async def test_a_counter_officer_books_for_a_citizen_without_a_phone(office: Office) -> None:
    booked = await book(office, booker=OFFICER, phone=None)

    assert booked.citizen.phone is None
    assert booked.booked_by == OFFICER.actor


async def test_the_next_free_days_skip_full_days(office: Office) -> None:
    for index, slot in enumerate(("08:00-09:00", "09:00-10:00", "10:00-11:00", "11:00-12:00")):
        for serial in range(3):
            await book(office, nik=nik(10 * index + serial), slot=slot)

    free = await next_free_days(
        service_code="KTP_REKAM",
        service_point="KEC_MOJOSARI",
        agenda=office.agenda,
        now=T0,
        start=TUESDAY,
    )

    assert [day.day for day in free] == [date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)]
    assert len(free[0].slots) == 4


async def _interrupted_booking(office: Office, holder_nik: str) -> Appointment:
    """A booking that took its hold and place, then stopped before it was confirmed."""
    appointment = Appointment.hold(
        appointment_id="0b9c1a52-1d8e-4c0e-9a57-3f1d2e4b5c6d",
        booking_number="STUCK234",
        service_code="KTP_REKAM",
        visit=office.agenda.rules.plan(
            service_code="KTP_REKAM",
            service_point="KEC_MOJOSARI",
            day=TUESDAY,
            slot="08:00-09:00",
            now=T0,
        ),
        citizen=Applicant(
            nik=holder_nik,
            name="Budi",
            phone=None,
            preferred_channel=NotificationChannel.SMS,
        ),
        owner_phone=None,
        booked_by=ANONYMOUS.actor,
        now=T0,
    )
    await office.appointments.add(appointment)
    await office.appointments.hold(holder_nik, "KTP_REKAM", "STUCK234", replacing=None)
    await office.places.take(MOJOSARI_8, "STUCK234", capacity=3)
    return appointment
