"""The edges the appointment use cases talk to; the Mongo adapter and the test fakes implement
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from services.intake.appointments.domain.appointment import Appointment, AppointmentStatus
from services.intake.appointments.domain.places import SlotKey
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class AppointmentRepository(Protocol):
    outgoing: Outbox

    """Visits by booking number, and which visit each citizen holds for each service."""

    async def add(self, appointment: Appointment) -> bool:
        """Stores a booking begun (HOLDING); False if its booking number is taken."""
        ...

    async def get(self, booking_number: str) -> Appointment | None:
        """The visit with this booking number."""
        ...

    async def save(
        self, appointment: Appointment, outbox: Sequence[CloudEvent], *, expected: AppointmentStatus
    ) -> bool:
        """Stores its new status with its outgoing events in one write, if its stored status is
        still `expected`; False otherwise, so of two racing changes exactly one applies."""
        ...

    async def discard(self, booking_number: str) -> None:
        """Removes a booking that never counted (still HOLDING)."""
        ...

    async def holder(self, nik: str, service_code: str) -> str | None:
        """The booking number the citizen holds for the service, if any."""
        ...

    async def hold(
        self, nik: str, service_code: str, booking_number: str, *, replacing: str | None
    ) -> bool:
        """Makes `booking_number` the citizen's visit for the service if they hold none
        (`replacing` None) or still hold `replacing`; False otherwise."""
        ...

    async def release(self, nik: str, service_code: str, booking_number: str) -> None:
        """Lets the citizen book the service again, if they still hold `booking_number`."""
        ...


class SlotPlaces(Protocol):
    """The places of each slot, as the booking numbers that took them."""

    async def take(self, slot: SlotKey, booking_number: str, *, capacity: int) -> bool:
        """Gives the booking a place if fewer than `capacity` are taken; True if it has one
        (now or before). Of racing bookings for the last place, exactly one gets it."""
        ...

    async def release(self, slot: SlotKey, booking_number: str) -> None:
        """Frees the booking's place, if it has one."""
        ...

    async def taken(self, slot: SlotKey) -> list[str]:
        """The booking numbers holding the slot's places."""
        ...

    async def counts(self, service_point: str, first: date, last: date) -> dict[SlotKey, int]:
        """Places taken per slot of the service point from `first` to `last`; a slot without
        any is left out."""
        ...
