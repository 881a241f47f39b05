"""Use cases of visits for in-person services: book, cancel, reschedule, find free days.

Every channel calls these with explicit inputs: the HTTP API, and the WhatsApp and SMS
conversations (`JANJI <service> <date>`).

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
from datetime import date, datetime
from functools import partial

from services.intake.appointments.domain import (
    Access,
    AlreadyBooked,
    Appointment,
    AppointmentStatus,
    BookingRules,
    FreeDay,
    NotActive,
    NotInPerson,
    Proof,
    SameSlot,
    ServicePoint,
    SlotFull,
    SlotKey,
    Visit,
    access,
    already_booked,
    local_day,
)
from services.intake.appointments.ports import AppointmentRepository, SlotPlaces
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.citizen_request import NotOfferedOnChannel, Submitter
from services.intake.domain.identity import (
    InvalidIdentity,
    check_resident,
    normalize_phone,
    validate_nik,
)
from services.intake.domain.text import normalize_name
from services.intake.domain.tracking import new_tracking_number
from services.intake.service_layer.submission import SOURCE
from shared.errors import Conflict, Kind, Refusal
from shared.events.envelope import Actor
from shared.events.models.requests import Applicant
from shared.events.models.values import NotificationChannel
from shared.identity import Role

HOLD_ATTEMPTS = 5


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


@dataclass(frozen=True)
class Agenda:
    """The office's visits: their documents, the places of the slots, and the booking rules."""

    appointments: AppointmentRepository
    places: SlotPlaces
    rules: BookingRules


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
    if not service.in_person_only:
        raise NotInPerson(service.code)
    if booker.channel not in service.channels:
        raise NotOfferedOnChannel(service.code, booker.channel, booking=True)
    nik = validate_nik(form.nik)
    if service.residents_only:
        check_resident(nik, catalogue.regency.code)
    counter = _at_counter(booker)
    if form.phone is None and not counter:
        raise InvalidIdentity("Nomor HP wajib diisi agar Anda dapat dihubungi.")
    citizen = Applicant(
        nik=nik,
        name=normalize_name(form.name),
        phone=None if form.phone is None else normalize_phone(form.phone),
        preferred_channel=form.preferred_channel,
    )
    visit = agenda.rules.plan(
        service_code=service.code,
        service_point=form.service_point,
        day=form.day,
        slot=form.slot,
        now=now,
    )
    appointment = await _begin(
        agenda,
        service_code=service.code,
        visit=visit,
        citizen=citizen,
        owner_phone=booker.owner_phone or citizen.phone,
        actor=booker.actor,
        now=now,
    )
    try:
        await _hold_citizen(
            agenda, appointment, verified_phone=booker.owner_phone, counter=counter, now=now
        )
    except (AlreadyBooked, BookingInterrupted):
        await agenda.appointments.discard(appointment.booking_number)
        raise
    if not await _take_place(agenda, visit, appointment.booking_number, now=now):
        await _give_back(agenda, appointment, visit, hold=True, place=False)
        raise await _full(agenda, visit, now=now)
    await _confirm(agenda, appointment, visit, now=now)
    return appointment


def _at_counter(booker: Submitter) -> bool:
    """A counter officer books for a walk-in citizen, who may have no phone."""
    return booker.actor.role == Role.COUNTER_OFFICER


async def cancel_appointment(
    *, booking_number: str, proof: Proof, actor: Actor, agenda: Agenda, now: datetime
) -> Appointment:
    """Cancels a visit not yet begun, announced with `AppointmentCancelled`; its place and the
    citizen's hold are free again. Raises NotFound, Forbidden, `NotActive`, or a Conflict if
    someone changed it meanwhile."""
    appointment = await _managed(agenda, booking_number, proof)
    appointment.cancel(actor, now=now)
    await _store(agenda, appointment, expected=AppointmentStatus.BOOKED, now=now)
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
    new = await _begin(
        agenda,
        service_code=old.service_code,
        visit=visit,
        citizen=old.citizen,
        owner_phone=old.owner_phone,
        actor=actor,
        now=now,
        rescheduled_from=old.appointment_id,
    )
    if not await _take_place(agenda, visit, new.booking_number, now=now):
        await agenda.appointments.discard(new.booking_number)
        raise await _full(agenda, visit, now=now)
    try:
        old.cancel(actor, now=now, replacement=new)
        await _store(agenda, old, expected=AppointmentStatus.BOOKED, now=now)
    except (NotActive, Conflict):
        await _give_back(agenda, new, visit, hold=False, place=True)
        raise
    await _confirm(agenda, new, visit, now=now, hold_moves_from=old.booking_number)
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


async def _begin(
    agenda: Agenda,
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
        if await agenda.appointments.add(appointment):
            return appointment


async def _hold_citizen(
    agenda: Agenda,
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
        if await agenda.appointments.hold(nik, service, appointment.booking_number, replacing=None):
            return
        held = await agenda.appointments.holder(nik, service)
        if held is None:
            continue
        current = await _current(agenda, held, now=now)
        if current is not None:
            raise already_booked(current, verified_phone=verified_phone, counter=counter)
        if await agenda.appointments.hold(nik, service, appointment.booking_number, replacing=held):
            return
    raise BookingInterrupted(appointment.booking_number)


async def _current(agenda: Agenda, booking_number: str, *, now: datetime) -> Appointment | None:
    """The active visit a hold stands for, following reschedules; None if there is none."""
    seen: set[str] = set()
    number: str | None = booking_number
    while number is not None and number not in seen:
        seen.add(number)
        appointment = await agenda.appointments.get(number)
        if appointment is None:
            return None
        if appointment.active(now=now, timeout=agenda.rules.holding_timeout):
            return appointment
        number = appointment.replaced_by
    return None


async def _take_place(agenda: Agenda, visit: Visit, booking_number: str, *, now: datetime) -> bool:
    """A place in the slot; when it is full, the places of cancelled or interrupted bookings
    are freed first and a place asked for once more."""
    places = agenda.places
    if await places.take(visit.key, booking_number, capacity=visit.capacity):
        return True
    freed = False
    for number in await places.taken(visit.key):
        holder = await agenda.appointments.get(number)
        if holder is not None and holder.holds_place(now=now, timeout=agenda.rules.holding_timeout):
            continue
        if holder is not None and holder.status is AppointmentStatus.HOLDING:
            holder.abandon()
            if not await agenda.appointments.save(holder, [], expected=AppointmentStatus.HOLDING):
                continue
        await places.release(visit.key, number)
        freed = True
    return freed and await places.take(visit.key, booking_number, capacity=visit.capacity)


async def _confirm(
    agenda: Agenda,
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
        await _store(agenda, appointment, expected=AppointmentStatus.HOLDING, now=now)
    except Conflict:
        await _give_back(agenda, appointment, visit, hold=True, place=True, discard=False)
        raise BookingInterrupted(appointment.booking_number) from None
    if hold_moves_from is not None:
        await agenda.appointments.hold(
            appointment.citizen.nik,
            appointment.service_code,
            appointment.booking_number,
            replacing=hold_moves_from,
        )


async def _store(
    agenda: Agenda, appointment: Appointment, *, expected: AppointmentStatus, now: datetime
) -> None:
    """Stores the visit's new status and queues its events, if its status was `expected`."""
    if not await agenda.appointments.outgoing.commit(
        appointment.booking_number,
        appointment.events,
        partial(agenda.appointments.save, appointment, expected=expected),
        source=SOURCE,
        time=now,
    ):
        raise _changed()
    appointment.events.clear()


async def _give_back(
    agenda: Agenda,
    appointment: Appointment,
    visit: Visit,
    *,
    hold: bool,
    place: bool,
    discard: bool = True,
) -> None:
    """Undoes what a booking that failed had taken: its place, the citizen's hold, itself."""
    if place:
        await agenda.places.release(visit.key, appointment.booking_number)
    if hold:
        await agenda.appointments.release(
            appointment.citizen.nik, appointment.service_code, appointment.booking_number
        )
    if discard:
        await agenda.appointments.discard(appointment.booking_number)


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
