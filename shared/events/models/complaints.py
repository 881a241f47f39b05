"""Version 1 of the events on `adminduk.complaints.v1`: citizens' complaints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import PERSONAL, NotificationChannel
from shared.events.topics import COMPLAINTS, Topic


class ComplaintCategory(StrEnum):
    ILLEGAL_FEE = "ILLEGAL_FEE"
    """Pungli: someone asked for money for a free service."""
    RUDENESS = "RUDENESS"
    DELAY = "DELAY"
    OTHER = "OTHER"


class ComplaintFiled(Event):
    """A citizen complained about an illegal fee, rudeness or a delay; audit follows it up."""

    event_type: ClassVar[str] = "id.go.adminduk.complaint.filed.v1"
    topic: ClassVar[Topic] = COMPLAINTS

    complaint_id: str = Field(description="Intake's id of the complaint; the event's key.")
    complaint_number: str = Field(description="What the citizen quotes to follow it up.")
    category: ComplaintCategory = Field(description="What the complaint is about.")
    description: str = Field(description="The citizen's own words.", json_schema_extra=PERSONAL)
    request_id: str | None = Field(
        default=None, description="The request it is about, when a tracking number was given."
    )
    anonymous: bool = Field(description="Whether the citizen withheld who they are.")
    phone: str | None = Field(
        default=None,
        description="Where to answer, unless anonymous, in E.164 form.",
        json_schema_extra=PERSONAL,
    )
    filed_at: datetime = Field(description="When intake took it (UTC).")
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the complaint number; notify then sends no acknowledgement. None: "
        "notify sends one.",
    )

    @property
    def subject(self) -> str:
        return self.complaint_id
