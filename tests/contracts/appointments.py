"""What every implementation of the visit and complaint ports must do, fake or MongoDB alike.

Each class is abstract: a subclass named `Test…` provides a function-scoped `repository` (or
`places`) fixture holding an empty store.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, time

from services.intake.appointments.domain.appointment import Appointment, AppointmentStatus
from services.intake.appointments.domain.places import ServicePoint, SlotKey, TimeSlot, visit
from services.intake.appointments.ports import AppointmentRepository, SlotPlaces
from services.intake.domain.complaints import Complaint
from services.intake.service_layer.ports import ComplaintRepository
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.complaints import ComplaintCategory
from shared.events.models.requests import Applicant
from shared.events.models.values import NotificationChannel
from tests.builders import CITIZEN, T0, VALID_NIK, wrapped

POINT = ServicePoint(
    code="KANTOR_DINAS",
    name="Kantor Dinas",
    address="Mojokerto",
    services=frozenset({"KTP_REKAM"}),
    slots=(TimeSlot(start=time(8), end=time(9), capacity=2),),
)
DAY = date(2025, 3, 4)
SLOT = SlotKey(service_point="KANTOR_DINAS", day=DAY, slot="08:00-09:00")
OFFICER = Actor(
    kind=ActorKind.STAFF,
    id="officer-1",
    role="counter_officer",
    service_point="KANTOR_DINAS",
    channel=Channel.API,
)


def appointment(booking_number: str = "K7M2Q9XP", **changes: object) -> Appointment:
    held = Appointment.hold(
        appointment_id="0b9c1a52-1d8e-4c0e-9a57-3f1d2e4b5c6d",
        booking_number=booking_number,
        service_code="KTP_REKAM",
        visit=visit(POINT, DAY, POINT.slots[0]),
        citizen=Applicant(
            nik=VALID_NIK,
            name="Siti Aminah",
            phone="+6281234567890",
            preferred_channel=NotificationChannel.WHATSAPP,
        ),
        owner_phone="+6281234567890",
        booked_by=CITIZEN,
        now=T0,
    )
    return dataclasses.replace(held, **changes)  # type: ignore[arg-type]


class AppointmentRepositoryContract:
    async def test_add_then_get_round_trips_every_field(
        self, repository: AppointmentRepository
    ) -> None:
        begun = appointment(booked_by=OFFICER, rescheduled_from="old-id", owner_phone=None)

        assert await repository.add(begun) is True
        assert await repository.add(appointment()) is False
        assert await repository.get("K7M2Q9XP") == begun
        assert await repository.get("UNKNOWN2") is None

    async def test_save_applies_only_from_the_expected_status(
        self, repository: AppointmentRepository
    ) -> None:
        await repository.add(appointment())
        booked = appointment(status=AppointmentStatus.BOOKED)
        cancelled = appointment(status=AppointmentStatus.CANCELLED, replaced_by="N3WN3WN3")
        gone = appointment(status=AppointmentStatus.BOOKED)
        gone.cancel(CITIZEN, now=T0)
        event = wrapped(gone.events[0])

        assert await repository.save(booked, [], expected=AppointmentStatus.HOLDING) is True
        assert await repository.save(booked, [], expected=AppointmentStatus.HOLDING) is False
        assert await repository.save(cancelled, [event], expected=AppointmentStatus.BOOKED) is True
        assert await repository.get("K7M2Q9XP") == cancelled

    async def test_of_racing_changes_exactly_one_applies(
        self, repository: AppointmentRepository
    ) -> None:
        await repository.add(appointment(status=AppointmentStatus.BOOKED))
        cancelled = appointment(status=AppointmentStatus.CANCELLED)

        outcomes = await asyncio.gather(
            *(repository.save(cancelled, [], expected=AppointmentStatus.BOOKED) for _ in range(8))
        )

        assert sorted(outcomes) == [False] * 7 + [True]

    async def test_discard_removes_only_a_booking_still_holding(
        self, repository: AppointmentRepository
    ) -> None:
        await repository.add(appointment("HOLDING2"))
        await repository.add(appointment("BOOKED22", status=AppointmentStatus.BOOKED))

        await repository.discard("HOLDING2")
        await repository.discard("BOOKED22")

        assert await repository.get("HOLDING2") is None
        assert await repository.get("BOOKED22") is not None

    async def test_a_nik_holds_one_booking_per_service(
        self, repository: AppointmentRepository
    ) -> None:
        assert await repository.hold(VALID_NIK, "KTP_REKAM", "AAAA2222", replacing=None) is True
        assert await repository.hold(VALID_NIK, "KTP_REKAM", "BBBB3333", replacing=None) is False
        assert await repository.hold(VALID_NIK, "IKD_AKTIVASI", "CCCC4444", replacing=None)
        assert await repository.holder(VALID_NIK, "KTP_REKAM") == "AAAA2222"
        assert await repository.holder("3516091204800002", "KTP_REKAM") is None

    async def test_a_hold_is_taken_over_or_released_only_by_the_booking_it_names(
        self, repository: AppointmentRepository
    ) -> None:
        await repository.hold(VALID_NIK, "KTP_REKAM", "AAAA2222", replacing=None)

        assert not await repository.hold(VALID_NIK, "KTP_REKAM", "CCCC4444", replacing="XXXX5555")
        assert await repository.hold(VALID_NIK, "KTP_REKAM", "BBBB3333", replacing="AAAA2222")
        await repository.release(VALID_NIK, "KTP_REKAM", "AAAA2222")
        assert await repository.holder(VALID_NIK, "KTP_REKAM") == "BBBB3333"
        await repository.release(VALID_NIK, "KTP_REKAM", "BBBB3333")
        assert await repository.holder(VALID_NIK, "KTP_REKAM") is None

    async def test_of_racing_first_holds_exactly_one_wins(
        self, repository: AppointmentRepository
    ) -> None:
        outcomes = await asyncio.gather(
            *(
                repository.hold(VALID_NIK, "KTP_REKAM", f"NUMBER{index:02d}", replacing=None)
                for index in range(10)
            )
        )

        assert outcomes.count(True) == 1


class SlotPlacesContract:
    async def test_places_are_taken_up_to_the_capacity_once_per_booking(
        self, places: SlotPlaces
    ) -> None:
        assert await places.take(SLOT, "AAAA2222", capacity=2) is True
        assert await places.take(SLOT, "AAAA2222", capacity=2) is True
        assert await places.take(SLOT, "BBBB3333", capacity=2) is True
        assert await places.take(SLOT, "CCCC4444", capacity=2) is False
        assert sorted(await places.taken(SLOT)) == ["AAAA2222", "BBBB3333"]

    async def test_a_released_place_can_be_taken_again(self, places: SlotPlaces) -> None:
        await places.take(SLOT, "AAAA2222", capacity=1)

        await places.release(SLOT, "AAAA2222")
        await places.release(SLOT, "AAAA2222")

        assert await places.taken(SLOT) == []
        assert await places.take(SLOT, "BBBB3333", capacity=1) is True

    async def test_of_many_racing_for_the_last_place_exactly_one_gets_it(
        self, places: SlotPlaces
    ) -> None:
        await places.take(SLOT, "FIRST222", capacity=2)

        outcomes = await asyncio.gather(
            *(places.take(SLOT, f"RACER{index:03d}", capacity=2) for index in range(20))
        )

        assert outcomes.count(True) == 1
        assert len(await places.taken(SLOT)) == 2

    async def test_racing_for_an_empty_slot_fills_it_exactly(self, places: SlotPlaces) -> None:
        outcomes = await asyncio.gather(
            *(places.take(SLOT, f"RACER{index:03d}", capacity=3) for index in range(12))
        )

        assert outcomes.count(True) == 3
        assert len(await places.taken(SLOT)) == 3

    async def test_counts_cover_the_service_point_and_days_asked_for(
        self, places: SlotPlaces
    ) -> None:
        later = dataclasses.replace(SLOT, day=date(2025, 3, 5), slot="09:00-10:00")
        elsewhere = dataclasses.replace(SLOT, service_point="KEC_MOJOSARI")
        outside = dataclasses.replace(SLOT, day=date(2025, 3, 7))
        emptied = dataclasses.replace(SLOT, slot="10:00-11:00")
        await places.take(SLOT, "AAAA2222", capacity=5)
        await places.take(SLOT, "BBBB3333", capacity=5)
        await places.take(later, "CCCC4444", capacity=5)
        await places.take(elsewhere, "DDDD5555", capacity=5)
        await places.take(outside, "EEEE6666", capacity=5)
        await places.take(emptied, "FFFF7777", capacity=5)
        await places.release(emptied, "FFFF7777")

        counts = await places.counts("KANTOR_DINAS", DAY, date(2025, 3, 6))

        assert counts == {SLOT: 2, later: 1}


class ComplaintRepositoryContract:
    async def test_a_complaint_number_is_stored_once(self, repository: ComplaintRepository) -> None:
        complaint = Complaint(
            complaint_id="c0b9c1a5-1d8e-4c0e-9a57-3f1d2e4b5c6d",
            complaint_number="ADU-K7M2Q9XP",
            category=ComplaintCategory.ILLEGAL_FEE,
            description="Diminta uang.",
            request_id=None,
            anonymous=True,
            phone=None,
            filed_by=CITIZEN,
            filed_at=T0,
        )

        assert await repository.add(complaint, []) is True
        assert await repository.add(complaint, []) is False
