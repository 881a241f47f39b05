"""What the appointment routes take and answer: request bodies and views, apart from the
routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.intake.appointments.domain.appointment import Appointment, AppointmentStatus
from services.intake.appointments.domain.places import FreeDay, ServicePoint
from services.intake.domain.identity import (
    NIK_PATTERN,
    PHONE_PATTERN,
    normalize_phone,
    validate_nik_digits,
)
from services.intake.domain.text import name_pattern, normalize_name
from shared.events.models.values import NotificationChannel
from shared.wib import day_label

Day = date
"""For fields named `date`, whose own name would hide the type in their class body."""
CODE_PATTERN = r"^[A-Z][A-Z0-9_]{0,39}$"
SLOT_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"


def _optional_phone(value: str | None) -> str | None:
    return None if value is None else normalize_phone(value)


class BookAppointmentBody(BaseModel):
    """A visit to a service point for an in-person service."""

    model_config = ConfigDict(extra="forbid")

    service_code: str = Field(
        min_length=1,
        max_length=40,
        pattern=CODE_PATTERN,
        examples=["KTP_REKAM"],
        description="An in-person service of the catalogue (`online: false` at "
        "`GET /v1/services`): KTP_REKAM or IKD_AKTIVASI.",
    )
    service_point: str = Field(
        min_length=1,
        max_length=40,
        pattern=CODE_PATTERN,
        examples=["KANTOR_DINAS"],
        description="Where the visit takes place; it must offer the service.",
    )
    date: Day = Field(
        description="The day of the visit in WIB: a working day, from today up to the booking "
        "horizon (30 days by default)."
    )
    slot: str = Field(
        pattern=SLOT_PATTERN,
        examples=["08:00-09:00"],
        description="A time slot of the service point (WIB), as "
        "`GET /v1/appointments/availability` lists them; not one that has begun.",
    )
    nik: Annotated[str, AfterValidator(validate_nik_digits)] = Field(
        json_schema_extra={"pattern": NIK_PATTERN, "examples": ["3516091204800001"]},
        description="The citizen's 16-digit NIK, of this regency. A NIK holds one active visit "
        "per service.",
    )
    name: Annotated[str, AfterValidator(normalize_name)] = Field(
        min_length=1,
        max_length=120,
        json_schema_extra={"pattern": name_pattern(), "examples": ["Siti Aminah"]},
        description="Full name as on the KK, without control or invisible characters.",
    )
    phone: Annotated[str | None, AfterValidator(_optional_phone)] = Field(
        default=None,
        json_schema_extra={"pattern": PHONE_PATTERN, "examples": ["081234567890"]},
        description="Indonesian mobile number (08…, 628…, +628…), stored as E.164, for the "
        "confirmation and reminder. Required, except from a counter officer.",
    )
    preferred_channel: NotificationChannel = Field(
        description="Where the confirmation and reminder go."
    )


class NikProof(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik_last4: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}$",
        examples=["0001"],
        description="The NIK's last four digits: required unless the caller signed in with the "
        "phone the visit was booked with, or is a counter officer of its service point.",
    )


class CancelBody(NikProof):
    """Who may cancel the visit."""


class RescheduleBody(NikProof):
    """The new slot, and who may move the visit."""

    date: Day = Field(description="The new day (WIB), under the same rules as a booking.")
    slot: str = Field(
        pattern=SLOT_PATTERN, examples=["09:00-10:00"], description="The new time slot (WIB)."
    )
    service_point: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        pattern=CODE_PATTERN,
        description="Another service point offering the service; the same one if absent.",
    )


class ServicePointView(BaseModel):
    code: str = Field(description="The service point's code.")
    name: str = Field(description="Its name, in Indonesian.")
    address: str = Field(description="Where it is.")

    @classmethod
    def of(cls, point: ServicePoint) -> ServicePointView:
        return cls(code=point.code, name=point.name, address=point.address)


class AppointmentView(BaseModel):
    """A visit, without the citizen's personal data."""

    appointment_id: UUID = Field(description="The visit's id, chosen by the server.")
    booking_number: str = Field(
        description="8 characters to show at the counter; with the NIK's last four digits it "
        "cancels or moves the visit."
    )
    service_code: str = Field(description="The in-person service.")
    service_point: ServicePointView = Field(description="Where to come.")
    date: Day = Field(description="The day of the visit (WIB).")
    slot: str = Field(description="The time slot (WIB), e.g. `08:00-09:00`.")
    starts_at: datetime = Field(description="Start of the slot (UTC).")
    ends_at: datetime = Field(description="End of the slot (UTC).")
    schedule: str = Field(
        description="Day and time as a citizen reads them, e.g. `Senin, 7 Desember 2026, "
        "08.00-09.00 WIB`."
    )
    status: AppointmentStatus = Field(description="BOOKED, or CANCELLED.")
    rescheduled_from: UUID | None = Field(
        default=None, description="The visit this one replaces, when it was rescheduled."
    )

    @classmethod
    def of(cls, appointment: Appointment, point: ServicePointView) -> AppointmentView:
        return cls(
            appointment_id=UUID(appointment.appointment_id),
            booking_number=appointment.booking_number,
            service_code=appointment.service_code,
            service_point=point,
            date=appointment.slot.day,
            slot=appointment.slot.slot,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            schedule=appointment.schedule(),
            status=appointment.status,
            rescheduled_from=None
            if appointment.rescheduled_from is None
            else UUID(appointment.rescheduled_from),
        )


class SlotView(BaseModel):
    slot: str = Field(description="The time slot (WIB), as a booking names it.")
    starts_at: datetime = Field(description="Its start (UTC).")
    ends_at: datetime = Field(description="Its end (UTC).")
    capacity: int = Field(description="Places in the slot, shared by the point's services.")
    free: int = Field(description="Places still free; 0 when full.")


class DayView(BaseModel):
    date: Day = Field(description="A working day (WIB).")
    label: str = Field(description="The day as a citizen reads it, e.g. `Senin, 7 Desember 2026`.")
    slots: list[SlotView] = Field(description="Its slots not yet begun.")

    @classmethod
    def of(cls, day: FreeDay) -> DayView:
        return cls(
            date=day.day,
            label=day_label(day.day),
            slots=[
                SlotView(
                    slot=free.visit.key.slot,
                    starts_at=free.visit.starts_at,
                    ends_at=free.visit.ends_at,
                    capacity=free.visit.capacity,
                    free=free.free,
                )
                for free in day.slots
            ],
        )


class AvailabilityView(BaseModel):
    service_code: str = Field(description="The in-person service asked about.")
    service_point: ServicePointView = Field(description="Where.")
    days: list[DayView] = Field(description="The next working days, earliest first.")
