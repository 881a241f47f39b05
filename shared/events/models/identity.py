"""Version 1 of the events on `adminduk.identity.v1`: sign-in codes on their way to notify."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import PERSONAL, SEALED_FOR_NOTIFY, NotificationChannel
from shared.events.topics import IDENTITY, Topic


class SignInCodeRequested(Event):
    """A citizen asked for a one-time code to sign in; notify sends it to their phone."""

    event_type: ClassVar[str] = "id.go.adminduk.identity.sign_in_code_requested.v1"
    topic: ClassVar[Topic] = IDENTITY

    challenge_id: str = Field(description="Intake's id of this sign-in attempt; the event's key.")
    phone: str = Field(
        description="Where the code goes, in E.164 form.", json_schema_extra=PERSONAL
    )
    channel: NotificationChannel = Field(description="How the code goes.")
    code: str = Field(
        description="The one-time code, sealed to notify alone; audit logs a pseudonym of the "
        "sealed text, never the code.",
        json_schema_extra=SEALED_FOR_NOTIFY,
    )
    expires_at: datetime = Field(description="When the code stops working (UTC).")

    @property
    def subject(self) -> str:
        return self.challenge_id
