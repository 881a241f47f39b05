"""Visits to a service point for the in-person services: slots, capacity, and who holds one.

Biometric recording (KTP_REKAM) and digital ID activation (IKD_AKTIVASI) need the citizen at a
counter, so they are booked as visits instead of submitted. Each service point offers some of
them in the same time slots every working day, each slot with a capacity that all its services
share. A visit is booked on a working day, neither in the past nor in a slot that has begun, nor
beyond the booking horizon; a citizen holds at most one active visit per service. The rules here
are pure: times and counts come in, decisions come out, refusals say why in plain Indonesian.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from services.intake.domain.chats import acknowledged_on
from services.intake.domain.tracking import mask_tracking_number
from shared.calendar import JAKARTA, WorkingCalendar
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.requests import Applicant
from shared.wib import day_label, hours_label, slot_label

WEEKEND = frozenset({5, 6})


class BookingRefused(Refusal, ValueError):
    """A booking the rules do not allow; `code` is stable, the message plain Indonesian."""

    code = "booking_refused"

    def __init__(self, message: str) -> None:
        super().__init__(self.code, message, Kind.INVALID)


class BookingConflict(Refusal, ValueError):
    """A booking that clashes with what is booked already; `code` is stable."""

    code = "booking_conflict"

    def __init__(self, message: str) -> None:
        super().__init__(self.code, message, Kind.CONFLICT)


class UnknownServicePoint(BookingRefused):
    code = "unknown_service_point"

    def __init__(self, code: str, known: Iterable[str]) -> None:
        super().__init__(
            f"Tempat layanan '{code}' tidak dikenal. Pilih salah satu: {', '.join(known)}."
        )


class NotInPerson(BookingRefused):
    """An online service: it is submitted as a request, not booked as a visit."""

    code = "not_in_person"

    def __init__(self, service_code: str) -> None:
        super().__init__(
            f"Layanan {service_code} diajukan secara daring tanpa janji kunjungan; "
            "silakan ajukan permohonan."
        )


class NotOfferedHere(BookingRefused):
    code = "not_offered_here"

    def __init__(self, service_code: str, point: ServicePoint, elsewhere: Iterable[str]) -> None:
        others = ", ".join(elsewhere)
        hint = f" Layanan ini ada di: {others}." if others else ""
        super().__init__(f"Layanan {service_code} tidak tersedia di {point.name}.{hint}")


class UnknownSlot(BookingRefused):
    code = "unknown_slot"

    def __init__(self, point: ServicePoint, slot: str) -> None:
        codes = ", ".join(s.code for s in point.slots)
        super().__init__(
            f"Jam '{slot}' tidak ada di {point.name}. Pilih salah satu jam berikut: {codes}."
        )


class OfficeClosed(BookingRefused):
    code = "office_closed"

    def __init__(self, day: date) -> None:
        why = "akhir pekan" if day.weekday() in WEEKEND else "hari libur nasional atau cuti bersama"
        super().__init__(f"Kantor tutup pada {day_label(day)} ({why}). Pilih hari kerja lain.")


class DateInPast(BookingRefused):
    code = "date_in_past"

    def __init__(self, day: date) -> None:
        super().__init__(f"Tanggal {day_label(day)} sudah lewat. Pilih tanggal mulai hari ini.")


class SlotStarted(BookingRefused):
    code = "slot_started"

    def __init__(self, visit: Visit) -> None:
        super().__init__(f"Jam {visit.label()} sudah dimulai. Pilih jam yang lebih lambat.")


class TooFarAhead(BookingRefused):
    code = "too_far_ahead"

    def __init__(self, last: date) -> None:
        super().__init__(
            f"Janji hanya dapat dibuat paling lambat untuk {day_label(last)}. "
            "Pilih tanggal yang lebih dekat."
        )


class SameSlot(BookingRefused):
    code = "same_slot"

    def __init__(self) -> None:
        super().__init__("Jadwal baru sama dengan jadwal lama.")


class SlotFull(BookingConflict):
    """No place left in the slot; `free_days` are the nearest days that still have one."""

    code = "slot_full"

    def __init__(self, visit: Visit, point: ServicePoint, free_days: list[FreeDay]) -> None:
        self.visit = visit
        self.free_days = free_days
        super().__init__(
            f"Jam {visit.label()} di {point.name} sudah penuh. {describe_free_days(free_days)}"
        )


class AlreadyBooked(BookingConflict):
    """The citizen holds an active visit for the service; unless `shown`, its number is masked
    and the message says where the full one is."""

    code = "already_booked"

    def __init__(self, service_code: str, booking_number: str, *, shown: bool) -> None:
        self.booking_number = booking_number if shown else mask_tracking_number(booking_number)
        if shown:
            advice = "Batalkan atau ubah jadwal janji itu bila perlu."
        else:
            advice = "Nomor lengkapnya ada di SMS/WhatsApp konfirmasi ke HP yang didaftarkan."
        super().__init__(
            f"NIK ini sudah memiliki janji {service_code} yang aktif dengan nomor booking "
            f"{self.booking_number}. {advice}"
        )


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


@dataclass(frozen=True)
class TimeSlot:
    """A slot of every working day, in Jakarta clock time; its places are shared by the point's
    services."""

    start: time
    end: time
    capacity: int

    @property
    def code(self) -> str:
        """How the API names the slot: `08:00-09:00`."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ServicePoint:
    """An office where citizens come for in-person services."""

    code: str
    name: str
    address: str
    services: frozenset[str]
    slots: tuple[TimeSlot, ...]

    def slot(self, code: str) -> TimeSlot:
        for slot in self.slots:
            if slot.code == code:
                return slot
        raise UnknownSlot(self, code)


class ServicePoints:
    """Every service point, by code."""

    def __init__(self, points: Iterable[ServicePoint]) -> None:
        self._by_code = {point.code: point for point in points}

    def get(self, code: str) -> ServicePoint:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownServicePoint(code, sorted(self._by_code)) from None

    def all(self) -> list[ServicePoint]:
        return sorted(self._by_code.values(), key=lambda point: point.code)

    def offering(self, service_code: str) -> list[ServicePoint]:
        return [point for point in self.all() if service_code in point.services]


@dataclass(frozen=True, order=True)
class SlotKey:
    """One slot of one day at one service point: what its places are counted by."""

    service_point: str
    day: date
    slot: str


@dataclass(frozen=True)
class Visit:
    """A bookable slot on a given day, with its instants in UTC."""

    key: SlotKey
    starts_at: datetime
    ends_at: datetime
    capacity: int

    def label(self) -> str:
        return slot_label(self.starts_at, self.ends_at)


def visit(point: ServicePoint, day: date, slot: TimeSlot) -> Visit:
    return Visit(
        key=SlotKey(service_point=point.code, day=day, slot=slot.code),
        starts_at=_instant(day, slot.start),
        ends_at=_instant(day, slot.end),
        capacity=slot.capacity,
    )


def _instant(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=JAKARTA).astimezone(UTC)


@dataclass(frozen=True)
class FreeSlot:
    visit: Visit
    free: int


@dataclass(frozen=True)
class FreeDay:
    day: date
    slots: tuple[FreeSlot, ...]


def describe_free_days(free_days: list[FreeDay]) -> str:
    """The nearest days with places, as a citizen reads them (also by SMS)."""
    if not free_days:
        return "Tidak ada tempat kosong dalam jangka waktu pemesanan; pilih tempat layanan lain."
    days = "; ".join(
        f"{day_label(free.day)} (jam "
        + ", ".join(hours_label(slot.visit.starts_at, slot.visit.ends_at) for slot in free.slots)
        + ")"
        for free in free_days
    )
    return f"Hari terdekat yang masih ada tempat: {days}."


@dataclass(frozen=True)
class BookingRules:
    """When visits may be booked: the service points, the office calendar and the horizon."""

    service_points: ServicePoints
    calendar: WorkingCalendar
    horizon_days: int = 30
    holding_timeout: timedelta = timedelta(minutes=1)
    """A booking still unconfirmed this long after it began was interrupted: its place and the
    citizen's hold may be given to others."""

    def plan(
        self, *, service_code: str, service_point: str, day: date, slot: str, now: datetime
    ) -> Visit:
        """The visit asked for, or a refusal saying why it cannot be booked."""
        point = self.point_for(service_code, service_point)
        time_slot = point.slot(slot)
        if day < local_day(now):
            raise DateInPast(day)
        if day > self.last_day(now):
            raise TooFarAhead(self.last_day(now))
        if not self.calendar.is_working_day(day):
            raise OfficeClosed(day)
        chosen = visit(point, day, time_slot)
        if chosen.starts_at <= now:
            raise SlotStarted(chosen)
        return chosen

    def point_for(self, service_code: str, service_point: str) -> ServicePoint:
        """The service point, if it offers the service."""
        point = self.service_points.get(service_point)
        if service_code not in point.services:
            elsewhere = [other.name for other in self.service_points.offering(service_code)]
            raise NotOfferedHere(service_code, point, elsewhere)
        return point

    def last_day(self, now: datetime) -> date:
        """The furthest day a visit may be booked for."""
        return local_day(now) + timedelta(days=self.horizon_days)

    def bookable_days(self, *, start: date, now: datetime) -> list[date]:
        """Working days from `start` (today at the earliest) to the end of the horizon."""
        day = max(start, local_day(now))
        days = []
        while day <= self.last_day(now):
            if self.calendar.is_working_day(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def places(
        self,
        point: ServicePoint,
        days: Iterable[date],
        booked: Mapping[SlotKey, int],
        now: datetime,
    ) -> list[FreeDay]:
        """Every slot of `days` not yet begun, with its free places (zero when full)."""
        result = []
        for day in days:
            slots = tuple(
                FreeSlot(visit=chosen, free=max(0, chosen.capacity - booked.get(chosen.key, 0)))
                for slot in point.slots
                if (chosen := visit(point, day, slot)).starts_at > now
            )
            if slots:
                result.append(FreeDay(day=day, slots=slots))
        return result

    def next_free_days(
        self,
        point: ServicePoint,
        booked: Mapping[SlotKey, int],
        *,
        now: datetime,
        start: date | None = None,
        limit: int = 3,
    ) -> list[FreeDay]:
        """The first `limit` working days with a free place, each with its free slots only."""
        days = self.bookable_days(start=start or local_day(now), now=now)
        free = []
        for day in self.places(point, days, booked, now):
            slots = tuple(slot for slot in day.slots if slot.free > 0)
            if slots:
                free.append(FreeDay(day=day.day, slots=slots))
            if len(free) == limit:
                break
        return free


def local_day(now: datetime) -> date:
    """The office's calendar day (WIB) of an instant."""
    return now.astimezone(JAKARTA).date()


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
