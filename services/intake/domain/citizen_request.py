"""A citizen's request as intake accepts it: validated against the catalogue, then submitted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.intake.domain.catalogue import ServiceCatalogue
from services.intake.domain.identity import normalize_phone, validate_nik
from services.intake.domain.text import normalize_name
from shared.events.envelope import Actor, Event
from shared.events.models import (
    Applicant,
    NotificationChannel,
    RequestCancelled,
    RequestResubmitted,
    RequestSubmitted,
)


class RequestStatus(StrEnum):
    """Where a request stands: its case's state in processing."""

    SUBMITTED = "SUBMITTED"
    IN_VERIFICATION = "IN_VERIFICATION"
    NEEDS_REVISION = "NEEDS_REVISION"
    APPROVED = "APPROVED"
    ISSUED = "ISSUED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class StatusChange:
    """One step of the request's history, as the citizen reads it."""

    status: RequestStatus
    at: datetime
    note: str | None = None


class InPersonOnly(ValueError):
    """The service needs the citizen at the office (biometrics, QR scan): it is booked, not sent."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SubmissionForm:
    """What a citizen (or someone on their behalf) fills in."""

    service_code: str
    nik: str
    name: str
    phone: str
    preferred_channel: NotificationChannel


@dataclass(frozen=True)
class Submitter:
    """Who sends a form, and so who may see the request afterwards.

    The owner is the citizen whose phone number a one-time code proved, or else the applicant's
    number as given; a village operator's village and a counter officer's service point let them
    follow the requests they submitted.
    """

    actor: Actor
    owner_phone: str | None = None
    village: str | None = None
    service_point: str | None = None


@dataclass
class CitizenRequest:
    request_id: str
    tracking_number: str
    service_code: str
    applicant: Applicant
    owner_phone: str
    submitted_by: Actor
    village: str | None
    service_point: str | None
    status: RequestStatus
    submitted_at: datetime
    form_digest: str
    history: list[StatusChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def cancel(self, actor: Actor, *, now: datetime) -> None:
        """Withdraws the request, which the office has not begun to verify; processing closes
        its case."""
        if self.status is not RequestStatus.SUBMITTED:
            raise NotCancellable(self.status)
        self.events.append(
            RequestCancelled(actor=actor, request_id=self.request_id, cancelled_at=now)
        )

    def resubmit(self, actor: Actor, *, now: datetime) -> None:
        """Sends back a request the office returned for fixing; processing resumes its case."""
        if self.status is not RequestStatus.NEEDS_REVISION:
            raise NotWaitingForFixes(self.status)
        self.events.append(
            RequestResubmitted(actor=actor, request_id=self.request_id, resubmitted_at=now)
        )


class NotCancellable(ValueError):
    """The office began working on the request: it can no longer be withdrawn."""

    def __init__(self, status: RequestStatus) -> None:
        super().__init__(status.value)
        self.status = status


class NotWaitingForFixes(ValueError):
    """The office did not ask for anything to be fixed: there is nothing to send back."""

    def __init__(self, status: RequestStatus) -> None:
        super().__init__(status.value)
        self.status = status


def submit(
    *,
    request_id: str,
    tracking_number: str,
    form: SubmissionForm,
    submitter: Submitter,
    catalogue: ServiceCatalogue,
    now: datetime,
) -> CitizenRequest:
    """Checks a form and turns it into a submitted request carrying its `RequestSubmitted` event."""
    service = catalogue.get(form.service_code)
    deadline = service.deadline_working_days
    if service.in_person_only or deadline is None:
        raise InPersonOnly(service.code)
    applicant = Applicant(
        nik=validate_nik(form.nik),
        name=normalize_name(form.name),
        phone=normalize_phone(form.phone),
        preferred_channel=form.preferred_channel,
    )
    request = CitizenRequest(
        request_id=request_id,
        tracking_number=tracking_number,
        service_code=service.code,
        applicant=applicant,
        owner_phone=submitter.owner_phone or applicant.phone,
        submitted_by=submitter.actor,
        village=submitter.village,
        service_point=submitter.service_point,
        status=RequestStatus.SUBMITTED,
        submitted_at=now,
        history=[StatusChange(status=RequestStatus.SUBMITTED, at=now)],
        form_digest=_digest(service.code, applicant),
    )
    request.events.append(
        RequestSubmitted(
            actor=submitter.actor,
            request_id=request_id,
            service_code=service.code,
            applicant=applicant,
            submitted_at=now,
            deadline_working_days=deadline,
        )
    )
    return request


def _digest(service_code: str, applicant: Applicant) -> str:
    """Fingerprint of the form's content, to tell a retried submission from a different one."""
    canonical = json.dumps(
        {"service_code": service_code, "applicant": applicant.model_dump(mode="json")},
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
