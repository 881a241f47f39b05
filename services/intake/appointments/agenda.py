"""The office's visits, and the conditional writes a booking is made of.

A booking takes three things, each decided by one conditional write by `_id`: its own document
(HOLDING, under a fresh booking number), the citizen's hold on the service (one active visit per
NIK and service), and a place in the slot (never more than its capacity). Only then is it
confirmed and announced (`AppointmentBooked`, in the same write as the confirmation). A booking
that loses any of them gives back what it took. One interrupted midway (a crash) stays HOLDING:
once it is older than the rules' holding timeout, whoever finds its slot full or its citizen
held abandons it and frees what it held, so an interruption never oversells a place and does not
keep one for long.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.intake.appointments.domain.appointment import (
    Appointment,
    AppointmentStatus,
    already_booked,
)
from services.intake.appointments.domain.booking_rules import BookingRules
from services.intake.appointments.domain.places import Visit
from services.intake.appointments.ports import AppointmentRepository, SlotPlaces
from services.intake.domain.tracking import new_tracking_number
from services.intake.service_layer.submission import SOURCE
from shared.errors import Conflict, Kind, Refusal
from shared.events.envelope import Actor
from shared.events.models.requests import Applicant

HOLD_ATTEMPTS = 5


class BookingInterrupted(Refusal):
    """The booking lost a race it can win by trying again."""

    def __init__(self, booking_number: str) -> None:
        super().__init__(
            "try_again",
            "Banyak pemesanan sedang diproses bersamaan. Silakan coba lagi.",
            Kind.UNAVAILABLE,
            retry_after_s=1,
        )
        self.booking_number = booking_number


def _changed() -> Conflict:
    """The visit was cancelled or rescheduled by someone else meanwhile."""
    return Conflict(
        "appointment_changed",
        "Janji kunjungan ini baru saja diubah atau dibatalkan. Silakan periksa kembali.",
    )


@dataclass(frozen=True)
class Agenda:
    """The office's visits: their documents, the places of the slots, and the booking rules."""

    appointments: AppointmentRepository
    places: SlotPlaces
    rules: BookingRules

    async def begin(
        self,
        *,
        service_code: str,
        visit: Visit,
        citizen: Applicant,
        owner_phone: str | None,
        actor: Actor,
        now: datetime,
        rescheduled_from: str | None = None,
    ) -> Appointment:
        """Stores a new HOLDING visit under a fresh booking number (a clash draws another)."""
        appointment_id = str(uuid.uuid4())
        while True:
            appointment = Appointment.hold(
                appointment_id=appointment_id,
                booking_number=new_tracking_number(),
                service_code=service_code,
                visit=visit,
                citizen=citizen,
                owner_phone=owner_phone,
                booked_by=actor,
                now=now,
                rescheduled_from=rescheduled_from,
            )
            if await self.appointments.add(appointment):
                return appointment

    async def hold_citizen(
        self,
        appointment: Appointment,
        *,
        verified_phone: str | None,
        counter: bool,
        now: datetime,
    ) -> None:
        """Makes the visit the citizen's one for its service; if they hold an active one, refuses
        with the domain's `already_booked`, which names it in full only for `verified_phone` (the
        phone the caller proved) or `counter`.

        A hold on a visit that is over, cancelled or was interrupted is taken over.
        """
        nik, service = appointment.citizen.nik, appointment.service_code
        for _ in range(HOLD_ATTEMPTS):
            if await self.appointments.hold(
                nik, service, appointment.booking_number, replacing=None
            ):
                return
            held = await self.appointments.holder(nik, service)
            if held is None:
                continue
            current = await self._current(held, now=now)
            if current is not None:
                raise already_booked(current, verified_phone=verified_phone, counter=counter)
            if await self.appointments.hold(
                nik, service, appointment.booking_number, replacing=held
            ):
                return
        raise BookingInterrupted(appointment.booking_number)

    async def _current(self, booking_number: str, *, now: datetime) -> Appointment | None:
        """The active visit a hold stands for, following reschedules; None if there is none."""
        seen: set[str] = set()
        number: str | None = booking_number
        while number is not None and number not in seen:
            seen.add(number)
            appointment = await self.appointments.get(number)
            if appointment is None:
                return None
            if appointment.active(now=now, timeout=self.rules.holding_timeout):
                return appointment
            number = appointment.replaced_by
        return None

    async def take_place(self, visit: Visit, booking_number: str, *, now: datetime) -> bool:
        """A place in the slot; when it is full, the places of cancelled or interrupted bookings
        are freed first and a place asked for once more."""
        places = self.places
        if await places.take(visit.key, booking_number, capacity=visit.capacity):
            return True
        freed = False
        for number in await places.taken(visit.key):
            holder = await self.appointments.get(number)
            if holder is not None and holder.holds_place(
                now=now, timeout=self.rules.holding_timeout
            ):
                continue
            if holder is not None and holder.status is AppointmentStatus.HOLDING:
                holder.abandon()
                if not await self.appointments.save(holder, [], expected=AppointmentStatus.HOLDING):
                    continue
            await places.release(visit.key, number)
            freed = True
        return freed and await places.take(visit.key, booking_number, capacity=visit.capacity)

    async def confirm(
        self,
        appointment: Appointment,
        visit: Visit,
        *,
        now: datetime,
        hold_moves_from: str | None = None,
    ) -> None:
        """Announces the visit; for a reschedule, the citizen's hold moves to it from the old one.

        Fails with BookingInterrupted if it was abandoned meanwhile as interrupted.
        """
        appointment.confirm(now=now)
        try:
            await self.store(appointment, expected=AppointmentStatus.HOLDING, now=now)
        except Conflict:
            await self.give_back(appointment, visit, hold=True, place=True, discard=False)
            raise BookingInterrupted(appointment.booking_number) from None
        if hold_moves_from is not None:
            await self.appointments.hold(
                appointment.citizen.nik,
                appointment.service_code,
                appointment.booking_number,
                replacing=hold_moves_from,
            )

    async def store(
        self, appointment: Appointment, *, expected: AppointmentStatus, now: datetime
    ) -> None:
        """Stores the visit's new status and queues its events, if its status was `expected`."""
        if not await self.appointments.outgoing.commit(
            appointment.booking_number,
            appointment.events,
            partial(self.appointments.save, appointment, expected=expected),
            source=SOURCE,
            time=now,
        ):
            raise _changed()
        appointment.events.clear()

    async def give_back(
        self,
        appointment: Appointment,
        visit: Visit,
        *,
        hold: bool,
        place: bool,
        discard: bool = True,
    ) -> None:
        """Undoes what a booking that failed had taken: its place, the citizen's hold, itself."""
        if place:
            await self.places.release(visit.key, appointment.booking_number)
        if hold:
            await self.appointments.release(
                appointment.citizen.nik, appointment.service_code, appointment.booking_number
            )
        if discard:
            await self.appointments.discard(appointment.booking_number)
