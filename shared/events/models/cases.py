"""Version 1 of the events on `adminduk.cases.v1`: each step of a case in processing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import RequestEvent
from shared.events.models.values import PERSONAL, NotificationChannel
from shared.events.topics import CASES, Topic


class _OnCases(RequestEvent):
    """An event on `adminduk.cases.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = CASES


class CaseOpened(_OnCases):
    """Processing opened a case for a submitted request."""

    event_type: ClassVar[str] = "id.go.adminduk.case.opened.v1"

    service_code: str = Field(description="Catalogue code of the service.")
    state: str = Field(description="The case's state after opening.")
    opened_at: datetime = Field(description="When the case was opened (UTC).")
    due_at: datetime = Field(description="When the office must have finished (UTC).")
    service_point: str = Field(description="The office whose queues the case is in.")
    applicant_name: str = Field(
        description="Name to greet the citizen by.", json_schema_extra=PERSONAL
    )
    contact_phone: str | None = Field(
        description="Where to notify the citizen; none for a citizen without a phone, whose "
        "village operator or counter officer (the event's submitter) follows the request.",
        json_schema_extra=PERSONAL,
    )
    contact_channel: NotificationChannel = Field(description="Channel to notify the citizen on.")


class CaseStage(StrEnum):
    """The work a case waits for, and so whose queue it is in."""

    VERIFICATION = "VERIFICATION"
    APPROVAL = "APPROVAL"
    ISSUANCE = "ISSUANCE"
    COMPLETION = "COMPLETION"


class CollectionMethod(StrEnum):
    """How the citizen gets an issued document."""

    PRINT_AT_HOME = "PRINT_AT_HOME"
    OFFICE = "OFFICE"
    VILLAGE = "VILLAGE"


class CaseEvent(_OnCases):
    """A step in a case's life; `state` is where the case stands after it."""

    state: str = Field(description="The case's state after the step.")
    at: datetime = Field(description="When the step was taken (UTC).")


class CaseClaimed(CaseEvent):
    """An officer took a case from a work queue."""

    event_type: ClassVar[str] = "id.go.adminduk.case.claimed.v1"

    stage: CaseStage = Field(description="The work the officer took the case for.")
    out_of_order: bool = Field(description="Taken ahead of older cases waiting in the queue.")
    reason_code: str | None = Field(description="Why it was taken out of order.")


class CaseReleased(CaseEvent):
    """An officer put a claimed case back in its queue, untouched."""

    event_type: ClassVar[str] = "id.go.adminduk.case.released.v1"

    stage: CaseStage = Field(description="The queue the case went back to.")


class CaseViewed(CaseEvent):
    """Someone read a case's personal data."""

    event_type: ClassVar[str] = "id.go.adminduk.case.viewed.v1"


class RevisionRequested(CaseEvent):
    """The case went back to the citizen to fix something; its deadline clock stopped."""

    event_type: ClassVar[str] = "id.go.adminduk.case.revision_requested.v1"

    items: list[str] = Field(description="What to fix, in Indonesian, one item each.")
    documents: list[str] = Field(
        default_factory=list,
        description="Catalogue codes of the documents to send again; only these may be replaced.",
    )


class CaseResubmitted(CaseEvent):
    """The citizen fixed what was asked; the case is back in verification, the clock running."""

    event_type: ClassVar[str] = "id.go.adminduk.case.resubmitted.v1"

    due_at: datetime = Field(description="The deadline, moved by the time the citizen took.")


class CaseVerified(CaseEvent):
    """A verifier found the request and its documents in order."""

    event_type: ClassVar[str] = "id.go.adminduk.case.verified.v1"


class CaseApproved(CaseEvent):
    """The head of office approved the document's issuance."""

    event_type: ClassVar[str] = "id.go.adminduk.case.approved.v1"


class DocumentIssued(CaseEvent):
    """The document exists, and the citizen is told how to get it."""

    event_type: ClassVar[str] = "id.go.adminduk.case.document_issued.v1"

    document_number: str = Field(description="The issued document's number.")
    collection: CollectionMethod = Field(description="How the citizen gets it.")


class CaseRejected(CaseEvent):
    """The request cannot be granted, for the reason given."""

    event_type: ClassVar[str] = "id.go.adminduk.case.rejected.v1"

    reason: str = Field(description="Why, in Indonesian, for the citizen.")


class CaseCompleted(CaseEvent):
    """The citizen has the document."""

    event_type: ClassVar[str] = "id.go.adminduk.case.completed.v1"

    on_time: bool = Field(description="Whether it was done by the deadline.")


class CaseCancelled(CaseEvent):
    """The citizen withdrew the request before verification began."""

    event_type: ClassVar[str] = "id.go.adminduk.case.cancelled.v1"


class CaseReassigned(CaseEvent):
    """A supervisor gave a claimed case to another officer."""

    event_type: ClassVar[str] = "id.go.adminduk.case.reassigned.v1"

    from_officer: str = Field(description="Who held the case.")
    to_officer: str = Field(description="Who holds it now.")


class DeadlineWarning(CaseEvent):
    """A share of the case's time has passed; its holder and the supervisor are warned."""

    event_type: ClassVar[str] = "id.go.adminduk.case.deadline_warning.v1"

    percent: int = Field(description="How much of the working time has passed, e.g. 50 or 80.")
    due_at: datetime = Field(description="The deadline (UTC).")
    holder: str | None = Field(description="The officer who holds the case, if anyone.")
    service_point: str | None = Field(
        default=None, description="The case's service point, whose supervisors are warned."
    )


class DeadlineBreached(CaseEvent):
    """The deadline passed before the case was finished."""

    event_type: ClassVar[str] = "id.go.adminduk.case.deadline_breached.v1"

    due_at: datetime = Field(description="The deadline that passed (UTC).")
    holder: str | None = Field(description="The officer who holds the case, if anyone.")
    service_point: str | None = Field(
        default=None, description="The case's service point, whose supervisors are told."
    )
