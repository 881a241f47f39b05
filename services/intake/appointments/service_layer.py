"""Use cases of visits for in-person services: book, cancel, reschedule, find free days.

Every channel calls these with explicit inputs: the HTTP API, and the WhatsApp and SMS
conversations (`JANJI <service> <date>`).

A booking is made of the conditional writes of the `Agenda` (`agenda.py`), which gives back
what it took when it loses one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.intake.appointments.agenda import Agenda, BookingInterrupted
from services.intake.appointments.domain.appointment import (
    Access,
    Appointment,
    AppointmentStatus,
    NotActive,
    Proof,
    access,
)
from services.intake.appointments.domain.places import (
    FreeDay,
    ServicePoint,
    SlotFull,
    SlotKey,
    Visit,
    local_day,
)
from services.intake.appointments.domain.refusals import AlreadyBooked, NotInPerson, SameSlot
from services.intake.domain.catalogue import ServiceCatalogue, ServiceDefinition
from services.intake.domain.citizen_request import NotOfferedOnChannel, Submitter
from services.intake.domain.identity import (
    InvalidIdentity,
    check_resident,
    normalize_phone,
    validate_nik,
)
from services.intake.domain.text import normalize_name
from shared.errors import Conflict, Kind, Refusal
from shared.events.envelope import Actor
from shared.events.models.requests import Applicant
from shared.events.models.values import NotificationChannel
from shared.identity import Role


@dataclass(frozen=True)
class AppointmentForm:
    """What a citizen (or a counter officer for them) asks for; `slot` as `08:00-09:00`."""

    service_code: str
    service_point: str
    day: date
    slot: str
    nik: str
    name: str
    phone: str | None
    preferred_channel: NotificationChannel


class NotFound(Refusal, LookupError):
    """No visit has this booking number, or none the caller may manage."""

    def __init__(self, booking_number: str) -> None:
        super().__init__("not_found", "Janji kunjungan tidak ditemukan.", Kind.NOT_FOUND)
        self.booking_number = booking_number


class Forbidden(Refusal, PermissionError):
    """An officer of another service point."""

    def __init__(self, booking_number: str) -> None:
        super().__init__(
            "forbidden", "Janji kunjungan ini di luar tempat layanan Anda.", Kind.FORBIDDEN
        )
        self.booking_number = booking_number


async def book_appointment(
    *,
    form: AppointmentForm,
    booker: Submitter,
    catalogue: ServiceCatalogue,
    agenda: Agenda,
    now: datetime,
) -> Appointment:
    """Books a visit for an in-person service, announced with `AppointmentBooked`.

    Refusals: the domain's `BookingRefused` (rules) and `BookingConflict` (full slot, visit
    already held), `UnknownService`, `NotOfferedOnChannel`, `InvalidIdentity`, `InvalidText`;
    BookingInterrupted when a race was lost too often. A visit already held is named in full
    only to a counter officer or to `booker.owner_phone`, the phone the caller proved (a
    citizen's sign-in, an SMS or WhatsApp sender), never to the form's phone.
    """
    service = catalogue.get(form.service_code)
    _check_bookable(service, booker)
    counter = _at_counter(booker)
    citizen = _citizen(form, service, regency=catalogue.regency.code, counter=counter)
    visit = agenda.rules.plan(
        service_code=service.code,
        service_point=form.service_point,
        day=form.day,
        slot=form.slot,
        now=now,
    )
    appointment = await agenda.begin(
        service_code=service.code,
        visit=visit,
        citizen=citizen,
        owner_phone=booker.owner_phone or citizen.phone,
        actor=booker.actor,
        now=now,
    )
    try:
        await agenda.hold_citizen(
            appointment, verified_phone=booker.owner_phone, counter=counter, now=now
        )
    except (AlreadyBooked, BookingInterrupted):
        await agenda.appointments.discard(appointment.booking_number)
        raise
    if not await agenda.take_place(visit, appointment.booking_number, now=now):
        await agenda.give_back(appointment, visit, hold=True, place=False)
        raise await _full(agenda, visit, now=now)
    await agenda.confirm(appointment, visit, now=now)
    return appointment


def _at_counter(booker: Submitter) -> bool:
    """A counter officer books for a walk-in citizen, who may have no phone."""
    return booker.actor.role == Role.COUNTER_OFFICER


def _check_bookable(service: ServiceDefinition, booker: Submitter) -> None:
    """Only an in-person service is booked as a visit, and only on a channel that offers it."""
    if not service.in_person_only:
        raise NotInPerson(service.code)
    if booker.channel not in service.channels:
        raise NotOfferedOnChannel(service.code, booker.channel, booking=True)


def _citizen(
    form: AppointmentForm, service: ServiceDefinition, *, regency: str, counter: bool
) -> Applicant:
    """The citizen the form names, checked; only one booked at a counter may have no phone."""
    nik = validate_nik(form.nik)
    if service.residents_only:
        check_resident(nik, regency)
    if form.phone is None and not counter:
        raise InvalidIdentity("Nomor HP wajib diisi agar Anda dapat dihubungi.")
    return Applicant(
        nik=nik,
        name=normalize_name(form.name),
        phone=None if form.phone is None else normalize_phone(form.phone),
        preferred_channel=form.preferred_channel,
    )


async def cancel_appointment(
    *, booking_number: str, proof: Proof, actor: Actor, agenda: Agenda, now: datetime
) -> Appointment:
    """Cancels a visit not yet begun, announced with `AppointmentCancelled`; its place and the
    citizen's hold are free again. Raises NotFound, Forbidden, `NotActive`, or a Conflict if
    someone changed it meanwhile."""
    appointment = await _managed(agenda, booking_number, proof)
    appointment.cancel(actor, now=now)
    await agenda.store(appointment, expected=AppointmentStatus.BOOKED, now=now)
    await agenda.appointments.release(
        appointment.citizen.nik, appointment.service_code, appointment.booking_number
    )
    await agenda.places.release(appointment.slot, appointment.booking_number)
    return appointment


async def reschedule_appointment(
    *,
    booking_number: str,
    day: date,
    slot: str,
    service_point: str | None,
    proof: Proof,
    actor: Actor,
    agenda: Agenda,
    now: datetime,
) -> Appointment:
    """Moves a visit to another slot (of its service point, or of `service_point`) under the
    same rules: the new visit is booked with `rescheduled_from`, the old one cancelled with
    `rescheduled_to` and its place freed. Returns the new visit; raises as booking and
    cancelling do, and `SameSlot`."""
    old = await _managed(agenda, booking_number, proof)
    old.check_changeable(now=now)
    visit = agenda.rules.plan(
        service_code=old.service_code,
        service_point=service_point or old.slot.service_point,
        day=day,
        slot=slot,
        now=now,
    )
    if visit.key == old.slot:
        raise SameSlot()
    new = await agenda.begin(
        service_code=old.service_code,
        visit=visit,
        citizen=old.citizen,
        owner_phone=old.owner_phone,
        actor=actor,
        now=now,
        rescheduled_from=old.appointment_id,
    )
    if not await agenda.take_place(visit, new.booking_number, now=now):
        await agenda.appointments.discard(new.booking_number)
        raise await _full(agenda, visit, now=now)
    try:
        old.cancel(actor, now=now, replacement=new)
        await agenda.store(old, expected=AppointmentStatus.BOOKED, now=now)
    except (NotActive, Conflict):
        await agenda.give_back(new, visit, hold=False, place=True)
        raise
    await agenda.confirm(new, visit, now=now, hold_moves_from=old.booking_number)
    await agenda.places.release(old.slot, old.booking_number)
    return new


async def next_free_days(
    *,
    service_code: str,
    service_point: str,
    agenda: Agenda,
    now: datetime,
    start: date | None = None,
    limit: int = 3,
) -> list[FreeDay]:
    """The first `limit` working days with a free place at the service point for the service,
    from `start` (today by default), each with its free slots: e.g. for `JANJI <service> <date>`
    by SMS, the first free slot of the day asked for."""
    point = agenda.rules.point_for(service_code, service_point)
    counts = await _counts(agenda, point, now=now)
    return agenda.rules.next_free_days(point, counts, now=now, start=start, limit=limit)


async def availability(
    *,
    service_code: str,
    service_point: str,
    catalogue: ServiceCatalogue,
    agenda: Agenda,
    start: date,
    days: int,
    now: datetime,
) -> tuple[ServicePoint, list[FreeDay]]:
    """Every slot not yet begun of the next `days` working days from `start`, with its free
    places (zero when full)."""
    service = catalogue.get(service_code)
    if not service.in_person_only:
        raise NotInPerson(service.code)
    point = agenda.rules.point_for(service.code, service_point)
    chosen = agenda.rules.bookable_days(start=start, now=now)[:days]
    counts = await _counts(agenda, point, now=now)
    return point, agenda.rules.places(point, chosen, counts, now)


async def _counts(agenda: Agenda, point: ServicePoint, *, now: datetime) -> dict[SlotKey, int]:
    return await agenda.places.counts(point.code, local_day(now), agenda.rules.last_day(now))


async def _full(agenda: Agenda, visit: Visit, *, now: datetime) -> SlotFull:
    """The refusal of a full slot, naming the nearest days from its own that have places."""
    point = agenda.rules.service_points.get(visit.key.service_point)
    counts = await _counts(agenda, point, now=now)
    free_days = agenda.rules.next_free_days(point, counts, now=now, start=visit.key.day)
    return SlotFull(visit, point, free_days)


async def _managed(agenda: Agenda, booking_number: str, proof: Proof) -> Appointment:
    """The visit, if the proof lets the caller manage it."""
    appointment = await agenda.appointments.get(booking_number)
    seen = Access.HIDDEN if appointment is None else access(appointment, proof)
    if appointment is None or seen is Access.HIDDEN:
        raise NotFound(booking_number)
    if seen is Access.FORBIDDEN:
        raise Forbidden(booking_number)
    return appointment
