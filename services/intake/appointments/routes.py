"""Visits for in-person services over HTTP: book, see free places, cancel, reschedule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from services.intake.appointments import service_layer as appointments
from services.intake.appointments.agenda import Agenda
from services.intake.appointments.domain.appointment import Appointment, Proof, ProofRequired
from services.intake.appointments.domain.places import local_day
from services.intake.appointments.domain.refusals import UnknownServicePoint
from services.intake.appointments.service_layer import AppointmentForm
from services.intake.appointments.views import (
    CODE_PATTERN,
    AppointmentView,
    AvailabilityView,
    BookAppointmentBody,
    CancelBody,
    Day,
    DayView,
    RescheduleBody,
    ServicePointView,
)
from services.intake.domain.callers import MissingScope, submitter
from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.tracking import normalize_tracking_number
from services.intake.entrypoints.message_caps import CAPPED, admit_message
from services.intake.service_layer.message_caps import MessageCaps
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.http.error_bodies import error_response, error_responses
from shared.identity import Principal, Role


@dataclass(frozen=True)
class AppointmentsContext:
    """What the appointment routes need, put together by bootstrap."""

    agenda: Agenda
    catalogue: ServiceCatalogue
    clock: Clock
    message_caps: MessageCaps


ContextDep = Annotated[AppointmentsContext, Depends(provided(AppointmentsContext))]


BOOKING_NUMBER = Path(
    min_length=8,
    max_length=20,
    examples=["K7M2Q9XP"],
    description="As given at booking; any case, spaces and hyphens ignored.",
)
_NOT_FOUND = error_response(
    status.HTTP_404_NOT_FOUND,
    "No visit has this booking number, or the NIK's last four digits do not match.",
)
_CHANGE_CONFLICT = error_response(
    status.HTTP_409_CONFLICT,
    "The visit was cancelled, rescheduled or has begun (`not_active`, "
    "`appointment_changed`), or the new slot is full (`slot_full`, naming the nearest days with "
    "places).",
)

router = APIRouter(prefix="/v1/appointments", tags=["appointments"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: error_response(
            status.HTTP_409_CONFLICT,
            "The slot is full (`slot_full`: the message names the nearest days with places), "
            "or the NIK holds an active visit for the service (`already_booked`: its booking "
            "number in full only for a citizen signed in with the visit's phone or a counter "
            "officer, else only its last characters).",
        ),
        429: CAPPED,
        **error_responses(408, 413, 422, 503),
    },
)
async def book(
    body: BookAppointmentBody, context: ContextDep, caller: CallerDep
) -> AppointmentView:
    """Books a visit; refusals say why in Indonesian (`office_closed`, `date_in_past`,
    `slot_started`, `too_far_ahead`, `unknown_slot`, `not_offered_here`, `not_in_person`,
    `unknown_service_point`, `unknown_service`, `invalid_request`)."""
    form = AppointmentForm(
        service_code=body.service_code,
        service_point=body.service_point,
        day=body.date,
        slot=body.slot,
        nik=body.nik,
        name=body.name,
        phone=body.phone,
        preferred_channel=body.preferred_channel,
    )

    booker = submitter(caller)
    await admit_message(context.message_caps, booker, body.phone, context.clock())
    appointment = await appointments.book_appointment(
        form=form,
        booker=booker,
        catalogue=context.catalogue,
        agenda=context.agenda,
        now=context.clock(),
    )
    return _view(appointment, context)


@router.get("/availability", responses=error_responses(422, 503))
async def availability(
    context: ContextDep,
    service_code: Annotated[
        str,
        Query(
            min_length=1,
            max_length=40,
            pattern=CODE_PATTERN,
            examples=["KTP_REKAM"],
            description="The in-person service.",
        ),
    ],
    service_point: Annotated[
        str,
        Query(
            min_length=1,
            max_length=40,
            pattern=CODE_PATTERN,
            examples=["KANTOR_DINAS"],
            description="The service point.",
        ),
    ],
    start: Annotated[
        Day | None,
        Query(alias="from", description="The first day to show (WIB); today if absent."),
    ] = None,
    days: Annotated[int, Query(ge=1, le=31, description="How many working days to show.")] = 5,
) -> AvailabilityView:
    """Free places per slot of the next working days, for anyone to choose a visit."""
    now = context.clock()
    point, free_days = await appointments.availability(
        service_code=service_code,
        service_point=service_point,
        catalogue=context.catalogue,
        agenda=context.agenda,
        start=start or local_day(now),
        days=days,
        now=now,
    )
    return AvailabilityView(
        service_code=service_code,
        service_point=ServicePointView.of(point),
        days=[DayView.of(day) for day in free_days],
    )


@router.post(
    "/{booking_number}/cancel",
    responses={404: _NOT_FOUND, 409: _CHANGE_CONFLICT, **error_responses(408, 413, 422, 503)},
)
async def cancel(
    booking_number: Annotated[str, BOOKING_NUMBER],
    body: CancelBody,
    context: ContextDep,
    caller: CallerDep,
) -> AppointmentView:
    """Cancels a visit not yet begun, freeing its place: by its citizen (the NIK's last four
    digits, or signed in with its phone) or a counter officer of its service point."""
    appointment = await appointments.cancel_appointment(
        booking_number=normalize_tracking_number(booking_number),
        proof=_proof(caller, body.nik_last4),
        actor=submitter(caller).actor,
        agenda=context.agenda,
        now=context.clock(),
    )
    return _view(appointment, context)


@router.post(
    "/{booking_number}/reschedule",
    status_code=status.HTTP_201_CREATED,
    responses={404: _NOT_FOUND, 409: _CHANGE_CONFLICT, **error_responses(408, 413, 422, 503)},
)
async def reschedule(
    booking_number: Annotated[str, BOOKING_NUMBER],
    body: RescheduleBody,
    context: ContextDep,
    caller: CallerDep,
) -> AppointmentView:
    """Moves a visit to another slot: a new visit with a new booking number replaces it, and
    its place is freed. Who may, as for cancelling."""
    appointment = await appointments.reschedule_appointment(
        booking_number=normalize_tracking_number(booking_number),
        day=body.date,
        slot=body.slot,
        service_point=body.service_point,
        proof=_proof(caller, body.nik_last4),
        actor=submitter(caller).actor,
        agenda=context.agenda,
        now=context.clock(),
    )
    return _view(appointment, context)


def _proof(caller: Principal | None, nik_last4: str | None) -> Proof:
    if caller is not None and Role.COUNTER_OFFICER in caller.roles:
        if caller.service_point is None:
            raise MissingScope("Token petugas loket tidak memuat tempat layanan.")
        return Proof(service_point=caller.service_point)
    phone = caller.phone_number if caller is not None else None
    if phone is None and nik_last4 is None:
        raise ProofRequired
    return Proof(nik_last4=nik_last4, phone=phone)


def _view(appointment: Appointment, context: AppointmentsContext) -> AppointmentView:
    """The visit with its service point, named by its code alone if the office has since
    removed the point from its configuration."""
    code = appointment.slot.service_point
    try:
        point = ServicePointView.of(context.agenda.rules.service_points.get(code))
    except UnknownServicePoint:
        point = ServicePointView(code=code, name=code, address="")
    return AppointmentView.of(appointment, point)
