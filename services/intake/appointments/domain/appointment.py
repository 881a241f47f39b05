"""One citizen's visit, from its booking to its cancellation, and who may manage it."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.intake.appointments.domain.places import SlotKey, Visit
from services.intake.appointments.domain.refusals import AlreadyBooked, BookingConflict
from services.intake.domain.chats import acknowledged_on
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.requests import Applicant
from shared.wib import slot_label


class AppointmentStatus(StrEnum):
    HOLDING = "HOLDING"
    """Being booked: its place is not confirmed yet, and nothing was published."""
    BOOKED = "BOOKED"
    CANCELLED = "CANCELLED"
    """Cancelled, or replaced by a rescheduled visit."""
    ABANDONED = "ABANDONED"
    """A booking interrupted before it was confirmed; it never counted."""


@dataclass
class Appointment:
    """One citizen's visit for one in-person service; `booking_number` is its public handle."""

    appointment_id: str
    booking_number: str
    service_code: str
    slot: SlotKey
    starts_at: datetime
    ends_at: datetime
    citizen: Applicant
    owner_phone: str | None
    """Who may manage it without the NIK: the phone a sign-in proved, else the one given."""
    booked_by: Actor
    status: AppointmentStatus
    created_at: datetime
    rescheduled_from: str | None = None
    """The appointment id of the visit this one replaces."""
    replaced_by: str | None = None
    """The booking number of the visit that replaced this one."""
    events: list[Event] = field(default_factory=list)

    @classmethod
    def hold(
        cls,
        *,
        appointment_id: str,
        booking_number: str,
        service_code: str,
        visit: Visit,
        citizen: Applicant,
        owner_phone: str | None,
        booked_by: Actor,
        now: datetime,
        rescheduled_from: str | None = None,
    ) -> Appointment:
        """A booking begun, not yet counting: its place and the citizen's hold come next."""
        return cls(
            appointment_id=appointment_id,
            booking_number=booking_number,
            service_code=service_code,
            slot=visit.key,
            starts_at=visit.starts_at,
            ends_at=visit.ends_at,
            citizen=citizen,
            owner_phone=owner_phone,
            booked_by=booked_by,
            status=AppointmentStatus.HOLDING,
            created_at=now,
            rescheduled_from=rescheduled_from,
        )

    def confirm(self, *, now: datetime) -> None:
        """The place and the hold are secured: the visit is booked and announced."""
        self.status = AppointmentStatus.BOOKED
        self.events.append(
            AppointmentBooked(
                actor=self.booked_by,
                appointment_id=self.appointment_id,
                booking_number=self.booking_number,
                service_code=self.service_code,
                service_point=self.slot.service_point,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                nik=self.citizen.nik,
                name=self.citizen.name,
                phone=self.citizen.phone,
                contact_channel=self.citizen.preferred_channel,
                rescheduled_from=self.rescheduled_from,
                booked_at=now,
                acknowledged_on=acknowledged_on(self.booked_by),
            )
        )

    def schedule(self) -> str:
        """When to come, as a citizen reads it."""
        return slot_label(self.starts_at, self.ends_at)

    def check_changeable(self, *, now: datetime) -> None:
        """Only a booked visit not yet begun can be cancelled or moved."""
        if self.status is not AppointmentStatus.BOOKED or self.starts_at <= now:
            raise NotActive(self)

    def cancel(
        self, actor: Actor, *, now: datetime, replacement: Appointment | None = None
    ) -> None:
        """Frees the visit; `replacement` is the visit it moves to when rescheduled."""
        self.check_changeable(now=now)
        self.status = AppointmentStatus.CANCELLED
        self.replaced_by = None if replacement is None else replacement.booking_number
        self.events.append(
            AppointmentCancelled(
                actor=actor,
                appointment_id=self.appointment_id,
                booking_number=self.booking_number,
                service_code=self.service_code,
                service_point=self.slot.service_point,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                name=self.citizen.name,
                phone=self.citizen.phone,
                contact_channel=self.citizen.preferred_channel,
                rescheduled_to=None if replacement is None else replacement.appointment_id,
                cancelled_at=now,
            )
        )

    def abandon(self) -> None:
        self.status = AppointmentStatus.ABANDONED

    def interrupted(self, *, now: datetime, timeout: timedelta) -> bool:
        """A booking left unconfirmed past `timeout`: whoever began it stopped."""
        return self.status is AppointmentStatus.HOLDING and self.created_at + timeout <= now

    def holds_place(self, *, now: datetime, timeout: timedelta) -> bool:
        """Whether it counts in its slot: booked, or still being booked."""
        return self.status is AppointmentStatus.BOOKED or (
            self.status is AppointmentStatus.HOLDING
            and not self.interrupted(now=now, timeout=timeout)
        )

    def active(self, *, now: datetime, timeout: timedelta) -> bool:
        """Whether it keeps the citizen from booking the service again: a visit to come."""
        return self.holds_place(now=now, timeout=timeout) and self.ends_at > now


class NotActive(BookingConflict):
    """The visit was cancelled, replaced, or has begun: there is nothing left to change."""

    code = "not_active"

    def __init__(self, appointment: Appointment) -> None:
        if appointment.status is AppointmentStatus.CANCELLED:
            reason = "sudah dibatalkan atau dijadwal ulang"
        else:
            reason = "sudah dimulai atau lewat"
        super().__init__(
            f"Janji {appointment.booking_number} {reason}, sehingga tidak dapat diubah."
        )


class Access(StrEnum):
    ALLOWED = "ALLOWED"
    FORBIDDEN = "FORBIDDEN"
    """An officer of another service point: staff know the visit exists."""
    HIDDEN = "HIDDEN"
    """Anyone else: as if it did not exist, so trying numbers reveals nothing."""


@dataclass(frozen=True)
class Proof:
    """What a caller showed to manage a visit: any one suffices."""

    nik_last4: str | None = None
    phone: str | None = None
    """A phone number the caller proved: a citizen's sign-in, a WhatsApp or SMS sender."""
    service_point: str | None = None
    """A counter officer's service point."""


class ProofRequired(Refusal):
    """A caller who is neither a counter officer nor signed in with a phone showed nothing."""

    def __init__(self) -> None:
        super().__init__(
            "invalid_request",
            "Tulis empat angka terakhir NIK (nik_last4), atau masuk dengan nomor HP kunjungan ini.",
            Kind.INVALID,
            details={"nik_last4": "Wajib diisi tanpa masuk dengan nomor HP kunjungan ini."},
        )


def access(appointment: Appointment, proof: Proof) -> Access:
    """Who may cancel or reschedule a visit: its citizen, or an officer of its service point."""
    if appointment.status in (AppointmentStatus.HOLDING, AppointmentStatus.ABANDONED):
        return Access.HIDDEN
    if proof.service_point is not None:
        if proof.service_point == appointment.slot.service_point:
            return Access.ALLOWED
        return Access.FORBIDDEN
    if proof.phone is not None and proof.phone == appointment.owner_phone:
        return Access.ALLOWED
    if proof.nik_last4 is not None and hmac.compare_digest(
        proof.nik_last4.encode(), appointment.citizen.nik[-4:].encode()
    ):
        return Access.ALLOWED
    return Access.HIDDEN


def already_booked(
    current: Appointment, *, verified_phone: str | None, counter: bool
) -> AlreadyBooked:
    """The refusal of a second visit for the service, naming the active one in full only to a
    counter officer or to whoever proved the phone that owns it (`verified_phone`: a citizen's
    sign-in, an SMS or WhatsApp sender). A phone typed into a form proves nothing: anyone may
    know a NIK and its owner's phone, and the number, with the NIK's last four digits, cancels
    the visit."""
    owned = verified_phone is not None and verified_phone == current.owner_phone
    return AlreadyBooked(current.service_code, current.booking_number, shown=counter or owned)
