"""A citizen's request as intake accepts it: validated against the catalogue, then submitted."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from services.intake.domain.catalogue import IntakeChannel, ServiceCatalogue, ServiceDefinition
from services.intake.domain.chats import acknowledged_on
from services.intake.domain.forms import InvalidForm, check_fields
from services.intake.domain.identity import (
    InvalidIdentity,
    Sex,
    check_birth_details,
    check_resident,
    normalize_phone,
    validate_nik,
)
from services.intake.domain.text import normalize_name
from shared.calendar import JAKARTA, WorkingCalendar
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.requests import (
    Applicant,
    RequestCancelled,
    RequestResubmitted,
    RequestSubmitted,
)
from shared.events.models.values import NotificationChannel
from shared.identity import Role

if TYPE_CHECKING:
    from services.intake.domain.documents import StoredDocument


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


CLOSED = frozenset({RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED})
"""Where a request ends: the office finished, refused, or the citizen withdrew it."""


@dataclass(frozen=True)
class StatusChange:
    """One step of the request's history, as the citizen reads it."""

    status: RequestStatus
    at: datetime
    note: str | None = None
    documents: tuple[str, ...] = ()
    """On a send-back: catalogue codes of the documents the office asked to be sent again."""


class InPersonOnly(Refusal, ValueError):
    """The service needs the citizen at the office (biometrics, QR scan): it is booked, not sent."""

    def __init__(self, service_code: str) -> None:
        super().__init__(
            "in_person_only",
            f"Layanan {service_code} harus dilakukan langsung di kantor; "
            "silakan buat janji kunjungan.",
            Kind.INVALID,
        )
        self.service_code = service_code


class NotOfferedOnChannel(Refusal, ValueError):
    """The catalogue does not offer the service through the channel it came from, for an
    application or, with `booking`, for a visit."""

    def __init__(self, service_code: str, channel: IntakeChannel, *, booking: bool = False) -> None:
        verb = "dipesan" if booking else "diajukan"
        super().__init__(
            "channel_not_offered",
            f"Layanan {service_code} tidak dapat {verb} melalui saluran ini.",
            Kind.INVALID,
        )
        self.service_code = service_code
        self.channel = channel


class ConsentRequired(Refusal, ValueError):
    """Someone submitting for a citizen must record that the citizen agreed to it."""

    def __init__(self) -> None:
        super().__init__(
            "consent_required",
            "Pengajuan atas nama warga harus disertai persetujuan warga (consent).",
            Kind.INVALID,
        )


@dataclass(frozen=True)
class SubmissionForm:
    """What a citizen (or someone on their behalf) fills in.

    `phone` may be missing only when a village operator or counter officer submits for a citizen
    without one; `consent` records that such a citizen agreed to the submission.
    """

    service_code: str
    nik: str
    name: str
    phone: str | None
    preferred_channel: NotificationChannel
    fields: Mapping[str, str] = field(default_factory=dict)
    date_of_birth: date | None = None
    sex: Sex | None = None
    consent: bool = False


@dataclass(frozen=True)
class Submitter:
    """Who sends a form, and so who may see the request afterwards.

    The owner is the citizen whose phone number a one-time code proved, or else the applicant's
    number as given; a village operator's village and a counter officer's service point let them
    follow the requests they submitted.
    """

    actor: Actor
    owner_phone: str | None = None
    """The phone the caller proved: a citizen token's, an SMS or WhatsApp sender's; never a
    form's."""
    village: str | None = None
    service_point: str | None = None
    contact_phone: str | None = None
    """A village operator's or counter officer's own phone, for citizens without one."""

    @property
    def channel(self) -> IntakeChannel:
        """The catalogue's name for where the submission came from."""
        if self.actor.kind is ActorKind.OPERATOR:
            return IntakeChannel.VILLAGE_OPERATOR
        if self.actor.role == Role.COUNTER_OFFICER:
            return IntakeChannel.COUNTER
        if self.actor.channel is Channel.WHATSAPP:
            return IntakeChannel.WHATSAPP
        if self.actor.channel is Channel.SMS:
            return IntakeChannel.SMS
        return IntakeChannel.APP

    @property
    def assisted(self) -> bool:
        """Submitted on the citizen's behalf by a village operator or a counter officer."""
        return self.channel in (IntakeChannel.VILLAGE_OPERATOR, IntakeChannel.COUNTER)


@dataclass
class CitizenRequest:
    request_id: str
    tracking_number: str
    service_code: str
    applicant: Applicant
    owner_phone: str | None
    submitted_by: Actor
    village: str | None
    service_point: str | None
    status: RequestStatus
    submitted_at: datetime
    form_digest: str
    expected_at: datetime
    form: dict[str, str] = field(default_factory=dict)
    required_documents: tuple[str, ...] = ()
    """Catalogue codes of the mandatory documents, as the catalogue had them at submission."""
    documents: dict[str, str] = field(default_factory=dict)
    """Id of the stored file by catalogue code, for every document received."""
    history: list[StatusChange] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def missing_documents(self) -> list[str]:
        return sorted(set(self.required_documents) - set(self.documents))

    @property
    def documents_to_send_again(self) -> tuple[str, ...]:
        """What the office's latest send-back asked to be replaced, while it waits for fixes."""
        if self.status is not RequestStatus.NEEDS_REVISION:
            return ()
        asked = [c for c in self.history if c.status is RequestStatus.NEEDS_REVISION]
        return asked[-1].documents if asked else ()

    def cancel(self, actor: Actor, *, now: datetime) -> None:
        """Withdraws the request, which the office has not begun to verify; processing closes
        its case."""
        if self.status is not RequestStatus.SUBMITTED:
            raise NotCancellable
        self.events.append(
            RequestCancelled(actor=actor, request_id=self.request_id, cancelled_at=now)
        )

    def resubmit(self, actor: Actor, *, now: datetime) -> None:
        """Sends back a request the office returned for fixing: it is back in verification at
        once, as processing's case will be when it takes the event."""
        if self.status is not RequestStatus.NEEDS_REVISION:
            raise NotWaitingForFixes
        self.events.append(
            RequestResubmitted(actor=actor, request_id=self.request_id, resubmitted_at=now)
        )
        self.status = RequestStatus.IN_VERIFICATION
        self.history.append(StatusChange(status=self.status, at=now))


class NotCancellable(Refusal):
    """The office began working on the request: it can no longer be withdrawn."""

    def __init__(self) -> None:
        super().__init__(
            "verification_started",
            "Permohonan sudah mulai diverifikasi sehingga tidak dapat dibatalkan.",
            Kind.CONFLICT,
        )


class NotWaitingForFixes(Refusal):
    """The office did not ask for anything to be fixed: there is nothing to send back."""

    def __init__(self) -> None:
        super().__init__(
            "nothing_to_fix", "Permohonan ini tidak sedang menunggu perbaikan.", Kind.CONFLICT
        )


def submit(
    *,
    request_id: str,
    tracking_number: str,
    form: SubmissionForm,
    submitter: Submitter,
    catalogue: ServiceCatalogue,
    calendar: WorkingCalendar,
    now: datetime,
    documents: Sequence[StoredDocument] = (),
) -> CitizenRequest:
    """Checks a form against its service and turns it into a submitted request carrying its
    `RequestSubmitted` event; the expected date is the deadline on the working-day calendar.

    `documents` came with the form (a chat holds them until the citizen confirms): they are the
    request's from the start, so `RequestSubmitted` names as missing only what did not come,
    and each is recorded by a `DocumentAttached` after it."""
    service = catalogue.get(form.service_code)
    deadline = service.deadline_working_days
    if service.in_person_only or deadline is None:
        raise InPersonOnly(service.code)
    if submitter.channel not in service.channels:
        raise NotOfferedOnChannel(service.code, submitter.channel)
    applicant = _applicant(form, service, submitter, catalogue.regency.code)
    if submitter.assisted and not form.consent:
        raise ConsentRequired
    fields = check_fields(service, form.fields, today=now.astimezone(JAKARTA).date())
    owner_phone = submitter.owner_phone or applicant.phone
    expected_at = calendar.due_at(now, deadline)
    request = CitizenRequest(
        request_id=request_id,
        tracking_number=tracking_number,
        service_code=service.code,
        applicant=applicant,
        owner_phone=owner_phone,
        submitted_by=submitter.actor,
        village=submitter.village,
        service_point=submitter.service_point,
        status=RequestStatus.SUBMITTED,
        submitted_at=now,
        expected_at=expected_at,
        form=fields,
        required_documents=tuple(sorted(service.mandatory_documents)),
        documents={document.requirement: document.document_id for document in documents},
        history=[StatusChange(status=RequestStatus.SUBMITTED, at=now)],
        form_digest=_digest(service.code, applicant, fields),
    )
    request.events.append(_submitted(request, submitter, deadline))
    request.events.extend(
        document.attached(actor=submitter.actor, replaces=None, now=now) for document in documents
    )
    return request


def _submitted(
    request: CitizenRequest, submitter: Submitter, deadline_working_days: int
) -> RequestSubmitted:
    """The event of a request just submitted, naming as missing what did not come with it."""
    applicant = request.applicant
    return RequestSubmitted(
        actor=submitter.actor,
        request_id=request.request_id,
        service_code=request.service_code,
        tracking_number=request.tracking_number,
        applicant=applicant,
        form=request.form,
        consent_recorded=submitter.assisted,
        assisted_contact=submitter.contact_phone if applicant.phone is None else None,
        submitted_at=request.submitted_at,
        deadline_working_days=deadline_working_days,
        expected_at=request.expected_at,
        missing_documents=request.missing_documents,
        acknowledged_on=acknowledged_on(submitter.actor),
    )


def _applicant(
    form: SubmissionForm, service: ServiceDefinition, submitter: Submitter, regency_code: str
) -> Applicant:
    nik = validate_nik(form.nik)
    try:
        if service.residents_only:
            check_resident(nik, regency_code)
        check_birth_details(nik, date_of_birth=form.date_of_birth, sex=form.sex)
    except InvalidIdentity as exc:
        raise InvalidForm("nik", str(exc)) from None
    if form.phone is None and not submitter.assisted:
        raise InvalidForm("phone", "Nomor HP wajib diisi agar Anda dapat dihubungi.")
    return Applicant(
        nik=nik,
        name=normalize_name(form.name),
        phone=None if form.phone is None else normalize_phone(form.phone),
        preferred_channel=form.preferred_channel,
    )


def _digest(service_code: str, applicant: Applicant, fields: Mapping[str, str]) -> str:
    """Fingerprint of the form's content, to tell a retried submission from a different one."""
    canonical = json.dumps(
        {
            "service_code": service_code,
            "applicant": applicant.model_dump(mode="json"),
            "fields": dict(fields),
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
