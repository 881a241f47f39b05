"""What each event tells a citizen or an officer: a template and the values of its parameters.

`PARAMETERS` is what the code fills for each template; the templates file must have every one of
these templates, and may use any of their parameters but no other.
"""

from __future__ import annotations

from types import MappingProxyType

from services.notify.domain.recipients import CaseStep, Recipients
from services.notify.domain.templates import Labels, Message
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    DeadlineBreached,
    DeadlineWarning,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.requests import RequestSubmitted
from shared.wib import day_label, moment_label, slot_label

ABOUT_A_REQUEST = frozenset({"name", "service", "tracking_number"})
ABOUT_A_VISIT = frozenset({"name", "service", "booking_number", "when", "where"})
ABOUT_A_CASE_DEADLINE = frozenset({"name", "tracking_number", "service", "due", "holder", "where"})
ABOUT_A_DISPOSITION = frozenset({"name", "letter", "disposition", "due"})
FORWARDED = frozenset(
    {
        "request_received",
        "request_received_documents_missing",
        "revision_requested",
        "revision_requested_documents",
        "case_approved",
        "document_issued",
        "case_rejected",
        "case_completed",
    }
)
"""What `receipt` and `case_step` send: a citizen without a phone hears it through the village
operator or counter officer who submitted for them, so each has a shorter SMS text for that."""
UNCLAIMED = "belum diambil petugas"
"""Who holds a case no officer has taken, as a deadline notice says it."""
PARAMETERS = MappingProxyType(
    {
        "request_received": ABOUT_A_REQUEST | {"expected_date"},
        "request_received_documents_missing": ABOUT_A_REQUEST
        | {"expected_date", "missing_documents"},
        "revision_requested": ABOUT_A_REQUEST | {"items"},
        "revision_requested_documents": ABOUT_A_REQUEST | {"items", "documents"},
        "case_approved": ABOUT_A_REQUEST,
        "document_issued": ABOUT_A_REQUEST | {"document_number", "collection"},
        "case_rejected": ABOUT_A_REQUEST | {"reason"},
        "case_completed": ABOUT_A_REQUEST | {"survey_url"},
        "appointment_booked": ABOUT_A_VISIT,
        "appointment_rescheduled": ABOUT_A_VISIT,
        "appointment_reminder": ABOUT_A_VISIT,
        "appointment_cancelled": ABOUT_A_VISIT,
        "complaint_filed": frozenset({"complaint_number"}),
        "sign_in_code": frozenset({"code"}),
        "deadline_warning": ABOUT_A_CASE_DEADLINE | {"percent"},
        "deadline_breached": ABOUT_A_CASE_DEADLINE,
        "disposition_due_soon": ABOUT_A_DISPOSITION,
        "disposition_unread": ABOUT_A_DISPOSITION,
        "disposition_escalated": ABOUT_A_DISPOSITION | {"holder"},
    }
)


def receipt(submitted: RequestSubmitted, labels: Labels) -> Message:
    """The request is in: its tracking number, when to expect it, and what is still missing."""
    values = {
        "name": submitted.applicant.name,
        "service": labels.service(submitted.service_code),
        "tracking_number": submitted.tracking_number,
        "expected_date": day_label(submitted.expected_at),
    }
    if not submitted.missing_documents:
        return Message("request_received", values)
    missing = labels.document_list(submitted.missing_documents)
    return Message("request_received_documents_missing", values | {"missing_documents": missing})


def case_step(step: CaseStep, recipients: Recipients, labels: Labels, survey_url: str) -> Message:
    """A step of the request's case: sent back, approved, issued, refused or completed."""
    about = {
        "name": recipients.name,
        "service": labels.service(recipients.service_code),
        "tracking_number": recipients.tracking_number,
    }
    match step:
        case RevisionRequested(items=items, documents=[]):
            return Message("revision_requested", about | {"items": "; ".join(items)})
        case RevisionRequested(items=items, documents=documents):
            values = {"items": "; ".join(items), "documents": labels.document_list(documents)}
            return Message("revision_requested_documents", about | values)
        case CaseApproved():
            return Message("case_approved", about)
        case DocumentIssued(document_number=number, collection=collection):
            values = {
                "document_number": number,
                "collection": labels.collection_for(collection, recipients.service_code),
            }
            return Message("document_issued", about | values)
        case CaseRejected(reason=reason):
            return Message("case_rejected", about | {"reason": reason})
        case CaseCompleted():
            link = f"{survey_url.rstrip('/')}/{recipients.tracking_number}"
            return Message("case_completed", about | {"survey_url": link})


def appointment_confirmation(booked: AppointmentBooked, labels: Labels) -> Message:
    """A booked visit; one rescheduled says it was moved, since whoever has the booking number
    and the NIK's last four digits may move it, and its citizen should know if it was not them."""
    if booked.rescheduled_from is not None:
        return _about_a_visit("appointment_rescheduled", booked, labels)
    return _about_a_visit("appointment_booked", booked, labels)


def appointment_reminder(booked: AppointmentBooked, labels: Labels) -> Message:
    """The day before the visit: when and where, and what to bring."""
    return _about_a_visit("appointment_reminder", booked, labels)


def appointment_cancellation(cancelled: AppointmentCancelled, labels: Labels) -> Message:
    """A visit cancelled, not moved: which one, and whom to call if its citizen did not cancel."""
    return _about_a_visit("appointment_cancelled", cancelled, labels)


def _about_a_visit(
    template: str, visit: AppointmentBooked | AppointmentCancelled, labels: Labels
) -> Message:
    return Message(
        template,
        {
            "name": visit.name,
            "service": labels.service(visit.service_code),
            "booking_number": visit.booking_number,
            "when": slot_label(visit.starts_at, visit.ends_at),
            "where": labels.service_point(visit.service_point),
        },
    )


def complaint_acknowledgement(filed: ComplaintFiled) -> Message:
    return Message("complaint_filed", {"complaint_number": filed.complaint_number})


def sign_in_code(requested: SignInCodeRequested) -> Message:
    return Message("sign_in_code", {"code": requested.code})


def case_deadline(
    event: DeadlineWarning | DeadlineBreached,
    *,
    to: str,
    tracking_number: str,
    service: str,
    holder: str | None,
    labels: Labels,
) -> Message:
    """To an officer (`to` is their name): a case's time is running out, or has run out."""
    values = {
        "name": to,
        "tracking_number": tracking_number,
        "service": service,
        "due": moment_label(event.due_at),
        "holder": UNCLAIMED if holder is None else holder,
        "where": "-" if event.service_point is None else labels.service_point(event.service_point),
    }
    if isinstance(event, DeadlineBreached):
        return Message("deadline_breached", values)
    return Message("deadline_warning", values | {"percent": str(event.percent)})


def disposition_reminder(reminded: DispositionReminded, *, to: str) -> Message:
    """To a disposition's holder: it lies unread for a working day, or its deadline nears."""
    template = "disposition_unread" if reminded.reason == "unread" else "disposition_due_soon"
    return Message(template, _about_a_disposition(reminded, to))


def disposition_escalation(escalated: DispositionEscalated, *, to: str, holder: str) -> Message:
    """To who disposed: the holder let the disposition's deadline pass."""
    return Message(
        "disposition_escalated", _about_a_disposition(escalated, to) | {"holder": holder}
    )


def _about_a_disposition(
    event: DispositionReminded | DispositionEscalated, to: str
) -> dict[str, str]:
    return {
        "name": to,
        "letter": event.letter_id,
        "disposition": event.disposition_id,
        "due": moment_label(event.due_at),
    }
