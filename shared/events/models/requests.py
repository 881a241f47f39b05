"""Version 1 of the events on `adminduk.requests.v1`: a citizen's request as intake takes it."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import RequestEvent
from shared.events.models.values import PERSONAL, NotificationChannel
from shared.events.topics import REQUESTS, Topic


class _OnRequests(RequestEvent):
    """An event on `adminduk.requests.v1`: the topic is named here once for them all."""

    topic: ClassVar[Topic] = REQUESTS


class Applicant(BaseModel):
    """The citizen a request is for, as given at submission."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    nik: str = Field(description="16-digit national identity number.", json_schema_extra=PERSONAL)
    name: str = Field(description="Full name as on the KK.", json_schema_extra=PERSONAL)
    phone: str | None = Field(
        description="Mobile number in E.164 form; none for a citizen without a phone, helped by "
        "a village operator, who is then notified instead.",
        json_schema_extra=PERSONAL,
    )
    preferred_channel: NotificationChannel = Field(description="Where notifications go.")


class RequestSubmitted(_OnRequests):
    """A citizen's request was accepted by intake."""

    event_type: ClassVar[str] = "id.go.adminduk.request.submitted.v1"

    service_code: str = Field(description="Catalogue code of the service asked for, e.g. KK_BARU.")
    tracking_number: str = Field(
        description="What the citizen quotes to follow the request up, e.g. K7M2Q9XP."
    )
    applicant: Applicant = Field(description="Who the request is for and how to reach them.")
    form: dict[str, str] = Field(
        default_factory=dict,
        description="The service's own form fields as checked against the catalogue, by name.",
        json_schema_extra=PERSONAL,
    )
    assisted_contact: str | None = Field(
        default=None,
        description="For a citizen without a phone: the phone of the village operator or "
        "counter officer who submitted for them (their token's phone_number), where news of the "
        "request goes instead.",
        json_schema_extra=PERSONAL,
    )
    consent_recorded: bool = Field(
        default=False,
        description="A village operator or counter officer submitted it, and recorded that the "
        "citizen agreed to it.",
    )
    submitted_at: datetime = Field(description="When intake accepted the request (UTC).")
    deadline_working_days: int = Field(
        ge=1, description="The service's deadline in working days, from the catalogue."
    )
    expected_at: datetime = Field(
        description="When the citizen was told to expect the document (UTC): the deadline on "
        "the office's working-day calendar."
    )
    missing_documents: list[str] = Field(
        default_factory=list,
        description="Catalogue codes of the mandatory documents not yet sent; a "
        "`RequestCompleted` follows once they are all there.",
    )
    acknowledged_on: NotificationChannel | None = Field(
        default=None,
        description="The chat (SMS or WhatsApp) whose reply to the citizen's own message "
        "already gave them the tracking number, the expected date and what is missing; "
        "notify then sends no receipt. None: notify sends one.",
    )


class RequestCancelled(_OnRequests):
    """The citizen (or who submitted for them) withdrew the request before verification."""

    event_type: ClassVar[str] = "id.go.adminduk.request.cancelled.v1"

    cancelled_at: datetime = Field(description="When intake took the withdrawal (UTC).")


class RequestResubmitted(_OnRequests):
    """The citizen fixed what the office asked for and sent the request back."""

    event_type: ClassVar[str] = "id.go.adminduk.request.resubmitted.v1"

    resubmitted_at: datetime = Field(description="When intake took it back (UTC).")


class DocumentAttached(_OnRequests):
    """A document for the request was received and stored by intake."""

    event_type: ClassVar[str] = "id.go.adminduk.request.document_attached.v1"

    document_id: str = Field(description="Intake's id of the stored file.")
    requirement: str = Field(description="Catalogue code of the document it fulfils, e.g. KK.")
    media_type: str = Field(description="The type sniffed from the file's bytes.")
    size_bytes: int = Field(ge=1, description="The file's size.")
    sha256: str = Field(description="SHA-256 of the file's bytes, hex.")
    replaces: str | None = Field(
        default=None,
        description="The document id it replaces, which intake removed: one sent before an "
        "officer began to verify the request, or one a send-back asked for again.",
    )
    attached_at: datetime = Field(description="When intake stored it (UTC).")


class DocumentViewed(_OnRequests):
    """Someone other than the citizen opened a document of the request; auditors see who read
    whose papers."""

    event_type: ClassVar[str] = "id.go.adminduk.request.document_viewed.v1"

    document_id: str = Field(description="Intake's id of the file that was read.")
    requirement: str = Field(description="Catalogue code of the document.")
    viewed_at: datetime = Field(description="When it was handed out (UTC).")


class RequestCompleted(_OnRequests):
    """Every mandatory document of the request is present: the office can verify it."""

    event_type: ClassVar[str] = "id.go.adminduk.request.completed.v1"

    documents: dict[str, str] = Field(
        description="Document id by catalogue code, for every document present."
    )
    completed_at: datetime = Field(description="When the last mandatory document came (UTC).")
