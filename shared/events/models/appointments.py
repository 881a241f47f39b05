"""Version 1 of the events on `adminduk.appointments.v1`: visits booked for in-person services."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import PERSONAL, NotificationChannel
from shared.events.topics import APPOINTMENTS, Topic


class _OnAppointments(Event):
    """An event on `adminduk.appointments.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = APPOINTMENTS


class AppointmentBooked(_OnAppointments):
    """A visit to a service point was booked for an in-person service."""

    event_type: ClassVar[str] = "id.go.adminduk.appointment.booked.v1"

    appointment_id: str = Field(description="Intake's id of the appointment; the event's key.")
    booking_number: str = Field(description="What the citizen shows at the counter.")
    service_code: str = Field(description="Catalogue code of the in-person service.")
    service_point: str = Field(description="Where the visit takes place.")
    starts_at: datetime = Field(description="Start of the booked time slot (UTC).")
    ends_at: datetime = Field(description="End of the booked time slot (UTC).")
    nik: str = Field(description="The citizen's NIK.", json_schema_extra=PERSONAL)
    name: str = Field(description="The citizen's name.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="Where to confirm and remind, in E.164 form.", json_schema_extra=PERSONAL
    )
    contact_channel: NotificationChannel = Field(description="Channel to confirm and remind on.")
    rescheduled_from: str | None = Field(
        default=None, description="The appointment this one replaces, when rescheduled."
    )
    booked_at: datetime = Field(description="When it was booked (UTC).")
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the booking number, when and where; notify then sends no "
        "confirmation (the reminder still comes). None: notify sends one.",
    )

    @property
    def subject(self) -> str:
        return self.appointment_id


class AppointmentCancelled(_OnAppointments):
    """A booked visit was cancelled, or replaced by a rescheduled one; its slot is free again."""

    event_type: ClassVar[str] = "id.go.adminduk.appointment.cancelled.v1"

    appointment_id: str = Field(description="The cancelled appointment; the event's key.")
    booking_number: str = Field(description="The cancelled visit's booking number.")
    service_code: str = Field(description="Catalogue code of the in-person service.")
    service_point: str = Field(description="Where the visit was to take place.")
    starts_at: datetime = Field(description="Start of the cancelled time slot (UTC).")
    ends_at: datetime = Field(description="End of the cancelled time slot (UTC).")
    name: str = Field(description="The citizen's name.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="The phone the visit was booked with (E.164), told of the cancellation as "
        "it was of the booking; none for a visit booked at the counter without one.",
        json_schema_extra=PERSONAL,
    )
    contact_channel: NotificationChannel = Field(description="Channel to tell it on.")
    rescheduled_to: str | None = Field(
        default=None, description="The appointment that replaces it, when rescheduled."
    )
    cancelled_at: datetime = Field(description="When it was cancelled (UTC).")

    @property
    def subject(self) -> str:
        return self.appointment_id
