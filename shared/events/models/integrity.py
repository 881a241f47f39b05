"""Version 1 of the events on `adminduk.integrity.v1`: integrity alerts and what auditors did."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import PERSONAL
from shared.events.topics import INTEGRITY, Topic


class _OnIntegrity(Event):
    """An event on `adminduk.integrity.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = INTEGRITY


class IntegrityAlert(_OnIntegrity):
    """An integrity rule found something in the audit log that auditors must follow up."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_raised.v1"

    alert_id: str = Field(description="`{rule}-{index}`: the rule and the entry that triggered it.")
    rule: str = Field(description="The rule, e.g. QUEUE_JUMP, SELF_DEALING, ILLEGAL_FEE.")
    index: int = Field(description="The audit log index of the entry that triggered it.")
    evidence: list[int] = Field(description="Audit log indexes of the entries that show it.")
    officers: list[str] = Field(description="The officers it is about (token subjects).")
    service_point: str | None = Field(description="The service point it is counted for.")
    about: str = Field(description="The request, letter or complaint it is about.")
    summary: str = Field(description="What happened, in Indonesian.")
    occurred_at: datetime = Field(description="When the triggering event happened (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id


class IntegrityAlertAcknowledged(_OnIntegrity):
    """An auditor took up an integrity alert."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_acknowledged.v1"

    alert_id: str = Field(description="The alert; the event's key.")
    at: datetime = Field(description="When it was acknowledged (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id


class IntegrityAlertResolved(_OnIntegrity):
    """An auditor closed an integrity alert with a note of what was found or done."""

    event_type: ClassVar[str] = "id.go.adminduk.integrity.alert_resolved.v1"

    alert_id: str = Field(description="The alert; the event's key.")
    note: str = Field(
        description="What the auditor found or did; may name people.", json_schema_extra=PERSONAL
    )
    at: datetime = Field(description="When it was resolved (UTC).")

    @property
    def subject(self) -> str:
        return self.alert_id
