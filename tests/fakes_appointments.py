"""In-memory stand-ins for the visit and complaint ports, behaving like the Mongo adapters.

Like the adapters, they store copies without the domain events, and each write is a decision
taken at once, as a conditional update by `_id` is.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from datetime import date

from services.intake.appointments.domain.appointment import Appointment, AppointmentStatus
from services.intake.appointments.domain.places import SlotKey
from services.intake.domain.complaints import Complaint
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class FakeAppointmentRepository:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.appointments: dict[str, Appointment] = {}
        self.holders: dict[tuple[str, str], str] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, appointment: Appointment) -> bool:
        if appointment.booking_number in self.appointments:
            return False
        self.appointments[appointment.booking_number] = _stored(appointment)
        return True

    async def get(self, booking_number: str) -> Appointment | None:
        stored = self.appointments.get(booking_number)
        return None if stored is None else copy.deepcopy(stored)

    async def save(
        self, appointment: Appointment, outbox: Sequence[CloudEvent], *, expected: AppointmentStatus
    ) -> bool:
        stored = self.appointments.get(appointment.booking_number)
        if stored is None or stored.status is not expected:
            return False
        stored.status = appointment.status
        stored.replaced_by = appointment.replaced_by
        self.outbox.extend(outbox)
        return True

    async def discard(self, booking_number: str) -> None:
        stored = self.appointments.get(booking_number)
        if stored is not None and stored.status is AppointmentStatus.HOLDING:
            del self.appointments[booking_number]

    async def holder(self, nik: str, service_code: str) -> str | None:
        return self.holders.get((nik, service_code))

    async def hold(
        self, nik: str, service_code: str, booking_number: str, *, replacing: str | None
    ) -> bool:
        if self.holders.get((nik, service_code)) != replacing:
            return False
        self.holders[(nik, service_code)] = booking_number
        return True

    async def release(self, nik: str, service_code: str, booking_number: str) -> None:
        if self.holders.get((nik, service_code)) == booking_number:
            del self.holders[(nik, service_code)]


def _stored(appointment: Appointment) -> Appointment:
    return dataclasses.replace(copy.deepcopy(appointment), events=[])


class FakeSlotPlaces:
    def __init__(self) -> None:
        self.bookings: dict[SlotKey, list[str]] = {}

    async def take(self, slot: SlotKey, booking_number: str, *, capacity: int) -> bool:
        taken = self.bookings.setdefault(slot, [])
        if booking_number in taken:
            return True
        if len(taken) >= capacity:
            return False
        taken.append(booking_number)
        return True

    async def release(self, slot: SlotKey, booking_number: str) -> None:
        taken = self.bookings.get(slot, [])
        if booking_number in taken:
            taken.remove(booking_number)

    async def taken(self, slot: SlotKey) -> list[str]:
        return list(self.bookings.get(slot, []))

    async def counts(self, service_point: str, first: date, last: date) -> dict[SlotKey, int]:
        return {
            slot: len(taken)
            for slot, taken in self.bookings.items()
            if taken and slot.service_point == service_point and first <= slot.day <= last
        }


class FakeComplaintRepository:
    def __init__(self) -> None:
        self.outgoing = Outbox()
        self.complaints: dict[str, Complaint] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        if complaint.complaint_number in self.complaints:
            return False
        self.complaints[complaint.complaint_number] = dataclasses.replace(
            copy.deepcopy(complaint), events=[]
        )
        self.outbox.extend(outbox)
        return True
