"""A case: processing's record of the work on one request, and the events it emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.events.envelope import Actor, Event
from shared.events.models import Applicant, CaseOpened, RequestSubmitted

PROCESSING = Actor.system("processing")


class CaseState(StrEnum):
    """SUBMITTED → IN_VERIFICATION → (NEEDS_REVISION ↔ resubmitted) → APPROVED → ISSUED → COMPLETED,
    or REJECTED (with a reason) or CANCELLED (by the citizen, before verification)."""

    SUBMITTED = "SUBMITTED"
    IN_VERIFICATION = "IN_VERIFICATION"
    NEEDS_REVISION = "NEEDS_REVISION"
    APPROVED = "APPROVED"
    ISSUED = "ISSUED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass
class Case:
    request_id: str
    service_code: str
    applicant: Applicant
    state: CaseState
    opened_at: datetime
    events: list[Event] = field(default_factory=list)


def open_case(submitted: RequestSubmitted, *, now: datetime) -> Case:
    """Opens the case for a newly submitted request, waiting in the verification queue."""
    case = Case(
        request_id=submitted.request_id,
        service_code=submitted.service_code,
        applicant=submitted.applicant,
        state=CaseState.SUBMITTED,
        opened_at=now,
    )
    case.events.append(
        CaseOpened(
            actor=PROCESSING,
            request_id=case.request_id,
            service_code=case.service_code,
            state=case.state.value,
            opened_at=now,
            applicant_name=case.applicant.name,
            contact_phone=case.applicant.phone,
            contact_channel=case.applicant.preferred_channel,
        )
    )
    return case
