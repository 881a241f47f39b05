"""Who hears about one request, learnt once from its `RequestSubmitted`: later events of the
request carry no phone, and are addressed from this."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events.envelope import Actor
from shared.events.models.cases import (
    CaseApproved,
    CaseCompleted,
    CaseRejected,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import NotificationChannel

CaseStep = RevisionRequested | CaseApproved | DocumentIssued | CaseRejected | CaseCompleted
"""The steps of a case the citizen is told about."""
CASE_STEPS: tuple[type[CaseStep], ...] = (
    RevisionRequested,
    CaseApproved,
    DocumentIssued,
    CaseRejected,
    CaseCompleted,
)


@dataclass(frozen=True)
class Recipients:
    request_id: str
    tracking_number: str
    service_code: str
    name: str
    phone: str | None
    """None for a citizen without a phone, whose village operator or counter officer submitted
    for them."""
    channel: NotificationChannel
    submitted_by: Actor
    """For a citizen without a phone, the village operator or counter officer to tell instead."""
    assisted_contact: str | None
    """Their phone, when their token carried one."""

    @classmethod
    def learnt_from(cls, submitted: RequestSubmitted) -> Recipients:
        return cls(
            request_id=submitted.request_id,
            tracking_number=submitted.tracking_number,
            service_code=submitted.service_code,
            name=submitted.applicant.name,
            phone=submitted.applicant.phone,
            channel=submitted.applicant.preferred_channel,
            submitted_by=submitted.actor,
            assisted_contact=submitted.assisted_contact,
        )

    def case_service_point(self, default: str) -> str:
        """The service point that works on the request's case, as processing opens it: the
        counter it was submitted at, else the office's default point. Every stored request
        keeps who submitted it, so none is without one."""
        return self.submitted_by.service_point or default


@dataclass(frozen=True)
class ParkedStep:
    """A case step that arrived before notify knew who to tell: sent once it does."""

    event_id: str
    step: CaseStep


@dataclass(frozen=True)
class OperatorNotice:
    """A message a citizen without a phone could not get, owed to who submitted for them
    (`Recipients.submitted_by`) once notify can reach village operators and counter officers."""

    event_id: str
    template: str
