"""The rules of visits: which slots may be booked, how places are counted, who may change one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.intake.appointments.domain.appointment import (
    Access,
    AppointmentStatus,
    NotActive,
    Proof,
    access,
)
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.domain.places import (
    ServicePoint,
    ServicePoints,
    SlotFull,
    SlotKey,
    TimeSlot,
    Visit,
    describe_free_days,
    visit,
)
from services.intake.appointments.domain.refusals import (
    DateInPast,
    NotOfferedHere,
    OfficeClosed,
    SlotStarted,
    TooFarAhead,
    UnknownServicePoint,
    UnknownSlot,
)
from services.intake.domain.tracking import mask_tracking_number
from shared.calendar import WorkingCalendar
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from tests.builders import CITIZEN, T0
from tests.contracts.appointments import OFFICER, appointment

# T0 is Monday 3 March 2025, 08:30 in Jakarta.
MONDAY = date(2025, 3, 3)
TUESDAY = date(2025, 3, 4)
SATURDAY = date(2025, 3, 8)
EID = date(2025, 3, 31)
DINAS = ServicePoint(
    code="KANTOR_DINAS",
    name="Kantor Dinas",
    address="Mojokerto",
    services=frozenset({"KTP_REKAM", "IKD_AKTIVASI"}),
    slots=(
        TimeSlot(start=time(8), end=time(9), capacity=2),
        TimeSlot(start=time(9), end=time(10), capacity=2),
    ),
)
MOJOSARI = ServicePoint(
    code="KEC_MOJOSARI",
    name="Kantor Kecamatan Mojosari",
    address="Mojosari",
    services=frozenset({"IKD_AKTIVASI"}),
    slots=(TimeSlot(start=time(8), end=time(12), capacity=1),),
)
RULES = BookingRules(
    service_points=ServicePoints([DINAS, MOJOSARI]),
    calendar=WorkingCalendar(collective_leave=[date(2025, 3, 10)]),
    horizon_days=30,
)


def plan(
    day: date, slot: str = "09:00-10:00", *, point: str = "KANTOR_DINAS", now: datetime = T0
) -> Visit:
    return RULES.plan(service_code="KTP_REKAM", service_point=point, day=day, slot=slot, now=now)


def key(day: date, slot: str) -> SlotKey:
    return SlotKey(service_point="KANTOR_DINAS", day=day, slot=slot)


def test_a_slot_of_a_working_day_is_planned_in_utc() -> None:
    planned = RULES.plan(
        service_code="KTP_REKAM",
        service_point="KANTOR_DINAS",
        day=TUESDAY,
        slot="08:00-09:00",
        now=T0,
    )

    assert planned.key == key(TUESDAY, "08:00-09:00")
    assert planned.starts_at == datetime(2025, 3, 4, 1, 0, tzinfo=UTC)
    assert planned.ends_at == datetime(2025, 3, 4, 2, 0, tzinfo=UTC)
    assert planned.capacity == 2
    assert planned.label() == "Selasa, 4 Maret 2025, 08.00-09.00 WIB"


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (SATURDAY, "Sabtu, 8 Maret 2025 (akhir pekan)"),
        (EID, "Senin, 31 Maret 2025 (hari libur nasional atau cuti bersama)"),
        (date(2025, 3, 10), "Senin, 10 Maret 2025 (hari libur nasional atau cuti bersama)"),
    ],
)
def test_a_day_the_office_is_closed_is_refused_saying_why(day: date, reason: str) -> None:
    with pytest.raises(OfficeClosed) as refused:
        plan(day)

    assert f"Kantor tutup pada {reason}." in str(refused.value)


def test_today_is_bookable_only_in_slots_not_yet_begun() -> None:
    assert plan(MONDAY, "09:00-10:00").key.day == MONDAY
    with pytest.raises(SlotStarted, match=r"08\.00-09\.00"):
        plan(MONDAY, "08:00-09:00")
    with pytest.raises(SlotStarted):
        plan(MONDAY, "09:00-10:00", now=datetime(2025, 3, 3, 2, 0, tzinfo=UTC))


def test_the_past_and_beyond_the_horizon_are_refused() -> None:
    with pytest.raises(DateInPast):
        plan(date(2025, 2, 28))
    assert plan(date(2025, 4, 2)).key.day == date(2025, 4, 2)
    with pytest.raises(TooFarAhead, match="Rabu, 2 April 2025"):
        plan(date(2025, 4, 3))


def test_unknown_points_slots_and_services_not_offered_are_refused_with_the_choices() -> None:
    with pytest.raises(UnknownServicePoint, match="KANTOR_DINAS, KEC_MOJOSARI"):
        plan(TUESDAY, point="KEC_SOOKO")
    with pytest.raises(UnknownSlot, match="08:00-09:00, 09:00-10:00"):
        plan(TUESDAY, "10:00-11:00")
    with pytest.raises(NotOfferedHere, match="ada di: Kantor Dinas"):
        RULES.plan(
            service_code="KTP_REKAM",
            service_point="KEC_MOJOSARI",
            day=TUESDAY,
            slot="08:00-12:00",
            now=T0,
        )


def test_places_count_free_seats_and_skip_slots_that_began() -> None:
    booked = {key(MONDAY, "09:00-10:00"): 1, key(TUESDAY, "08:00-09:00"): 3}

    days = RULES.places(DINAS, [MONDAY, TUESDAY], booked, T0)

    assert [(day.day, [(s.visit.key.slot, s.free) for s in day.slots]) for day in days] == [
        (MONDAY, [("09:00-10:00", 1)]),
        (TUESDAY, [("08:00-09:00", 0), ("09:00-10:00", 2)]),
    ]


def test_the_next_free_days_are_working_days_with_a_place_listing_only_free_slots() -> None:
    full = {
        key(day, slot): 2
        for day in (TUESDAY, date(2025, 3, 5))
        for slot in ("08:00-09:00", "09:00-10:00")
    }
    full[key(date(2025, 3, 6), "08:00-09:00")] = 2

    free = RULES.next_free_days(DINAS, full, now=T0, start=TUESDAY)

    assert [day.day for day in free] == [date(2025, 3, 6), date(2025, 3, 7), date(2025, 3, 11)]
    assert [slot.visit.key.slot for slot in free[0].slots] == ["09:00-10:00"]
    assert describe_free_days(free).startswith(
        "Hari terdekat yang masih ada tempat: Kamis, 6 Maret 2025 (jam 09.00-10.00); "
        "Jumat, 7 Maret 2025 (jam 08.00-09.00, 09.00-10.00)"
    )


def test_no_free_day_within_the_horizon_says_to_choose_another_point() -> None:
    every = {
        key(day, slot.code): 2
        for day in RULES.bookable_days(start=MONDAY, now=T0)
        for slot in DINAS.slots
    }

    assert RULES.next_free_days(DINAS, every, now=T0) == []
    full = SlotFull(visit(DINAS, TUESDAY, DINAS.slots[0]), DINAS, [])
    assert full.code == "slot_full"
    assert "pilih tempat layanan lain" in str(full)


def test_bookable_days_start_today_at_the_earliest_and_skip_closed_days() -> None:
    days = RULES.bookable_days(start=date(2025, 2, 1), now=T0)

    assert days[:6] == [MONDAY, TUESDAY, date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7),
                        date(2025, 3, 11)]  # fmt: skip
    assert EID not in days
    assert days[-1] == date(2025, 4, 2)


def test_a_booking_counts_while_booked_or_being_booked_not_once_interrupted() -> None:
    timeout = timedelta(minutes=1)
    holding = appointment()

    assert holding.holds_place(now=T0 + timedelta(seconds=59), timeout=timeout)
    assert holding.interrupted(now=T0 + timeout, timeout=timeout)
    assert not holding.holds_place(now=T0 + timeout, timeout=timeout)
    booked = appointment(status=AppointmentStatus.BOOKED)
    assert booked.active(now=T0, timeout=timeout)
    assert not booked.active(now=booked.ends_at, timeout=timeout)
    assert not appointment(status=AppointmentStatus.CANCELLED).active(now=T0, timeout=timeout)


def test_confirming_and_cancelling_announce_the_visit() -> None:
    booked = appointment()
    replacement = appointment("N3WN3WN3", appointment_id="5d0f8e2a-0000-4000-8000-000000000000")

    booked.confirm(now=T0)
    booked.cancel(OFFICER, now=T0, replacement=replacement)

    announced, cancelled = booked.events
    assert isinstance(announced, AppointmentBooked)
    assert isinstance(cancelled, AppointmentCancelled)
    assert announced.booking_number == "K7M2Q9XP"
    assert announced.starts_at == booked.starts_at
    assert announced.nik == booked.citizen.nik
    assert cancelled.rescheduled_to == replacement.appointment_id
    assert cancelled.actor == OFFICER
    assert booked.status is AppointmentStatus.CANCELLED
    assert booked.replaced_by == "N3WN3WN3"


def test_only_a_booked_visit_not_yet_begun_can_be_changed() -> None:
    with pytest.raises(NotActive, match="sudah dibatalkan"):
        appointment(status=AppointmentStatus.CANCELLED).cancel(CITIZEN, now=T0)
    booked = appointment(status=AppointmentStatus.BOOKED)
    with pytest.raises(NotActive, match="sudah dimulai"):
        booked.cancel(CITIZEN, now=booked.starts_at)


@pytest.mark.parametrize(
    ("proof", "expected"),
    [
        (Proof(nik_last4="0001"), Access.ALLOWED),
        (Proof(nik_last4="0002"), Access.HIDDEN),
        (Proof(phone="+6281234567890"), Access.ALLOWED),
        (Proof(phone="+6289999999999"), Access.HIDDEN),
        (Proof(phone="+6289999999999", nik_last4="0001"), Access.ALLOWED),
        (Proof(service_point="KANTOR_DINAS"), Access.ALLOWED),
        (Proof(service_point="KEC_MOJOSARI", nik_last4="0001"), Access.FORBIDDEN),
        (Proof(), Access.HIDDEN),
    ],
)
def test_who_may_change_a_visit(proof: Proof, expected: Access) -> None:
    assert access(appointment(status=AppointmentStatus.BOOKED), proof) is expected


def test_a_booking_not_confirmed_is_as_good_as_absent() -> None:
    for status in (AppointmentStatus.HOLDING, AppointmentStatus.ABANDONED):
        assert access(appointment(status=status), Proof(nik_last4="0001")) is Access.HIDDEN


def test_a_masked_booking_number_shows_only_its_end() -> None:
    assert mask_tracking_number("K7M2Q9XP") == "*****9XP"


def test_a_visit_is_labelled_as_a_citizen_reads_it() -> None:
    late = dataclasses.replace(DINAS.slots[0], start=time(13, 30), end=time(14, 15))

    assert visit(DINAS, date(2025, 3, 7), late).label() == "Jumat, 7 Maret 2025, 13.30-14.15 WIB"
