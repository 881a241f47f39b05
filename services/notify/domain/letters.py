"""What each event tells a citizen: a template and the values of its parameters.

`PARAMETERS` is what the code fills for each template; the templates file must have every one of
these templates, and may use any of their parameters but no other.
"""

from __future__ import annotations

from types import MappingProxyType

from services.notify.domain.recipients import CaseStep, Recipients
from services.notify.domain.templates import Labels, Letter
from shared.events.models import (
    AppointmentBooked,
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    ComplaintFiled,
    DocumentIssued,
    RequestSubmitted,
    RevisionRequested,
    SignInCodeRequested,
)
from shared.wib import day_label, slot_label

ABOUT_A_REQUEST = frozenset({"name", "service", "tracking_number"})
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
        "appointment_booked": frozenset({"name", "service", "booking_number", "when", "where"}),
        "complaint_filed": frozenset({"complaint_number"}),
        "sign_in_code": frozenset({"code"}),
    }
)


def receipt(submitted: RequestSubmitted, labels: Labels) -> Letter:
    """The request is in: its tracking number, when to expect it, and what is still missing."""
    values = {
        "name": submitted.applicant.name,
        "service": labels.service(submitted.service_code),
        "tracking_number": submitted.tracking_number,
        "expected_date": day_label(submitted.expected_at),
    }
    if not submitted.missing_documents:
        return Letter("request_received", values)
    missing = labels.document_list(submitted.missing_documents)
    return Letter("request_received_documents_missing", values | {"missing_documents": missing})


def case_step(step: CaseStep, recipients: Recipients, labels: Labels, survey_url: str) -> Letter:
    """A step of the request's case: sent back, approved, issued, refused or completed."""
    about = {
        "name": recipients.name,
        "service": labels.service(recipients.service_code),
        "tracking_number": recipients.tracking_number,
    }
    match step:
        case RevisionRequested(items=items, documents=[]):
            return Letter("revision_requested", about | {"items": "; ".join(items)})
        case RevisionRequested(items=items, documents=documents):
            values = {"items": "; ".join(items), "documents": labels.document_list(documents)}
            return Letter("revision_requested_documents", about | values)
        case CaseApproved():
            return Letter("case_approved", about)
        case DocumentIssued(document_number=number, collection=collection):
            values = {"document_number": number, "collection": labels.collection[collection]}
            return Letter("document_issued", about | values)
        case CaseRejected(reason=reason):
            return Letter("case_rejected", about | {"reason": reason})
        case CaseCompleted():
            link = f"{survey_url.rstrip('/')}/{recipients.tracking_number}"
            return Letter("case_completed", about | {"survey_url": link})


def appointment_confirmation(booked: AppointmentBooked, labels: Labels) -> Letter:
    return Letter(
        "appointment_booked",
        {
            "name": booked.name,
            "service": labels.service(booked.service_code),
            "booking_number": booked.booking_number,
            "when": slot_label(booked.starts_at, booked.ends_at),
            "where": labels.service_point(booked.service_point),
        },
    )


def complaint_acknowledgement(filed: ComplaintFiled) -> Letter:
    return Letter("complaint_filed", {"complaint_number": filed.complaint_number})


def sign_in_code(requested: SignInCodeRequested) -> Letter:
    return Letter("sign_in_code", {"code": requested.code})
