"""How a submitted request becomes a case: its service point, its deadline on the office's
working days, and the channel it came in on."""

from __future__ import annotations

from datetime import datetime

from services.processing.domain.case import (
    PROCESSING,
    Calendar,
    Case,
    CaseState,
    to_the_second,
)
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CaseOpened
from shared.events.models.requests import RequestSubmitted


def open_case(
    submitted: RequestSubmitted,
    *,
    now: datetime,
    calendar: Calendar,
    default_service_point: str,
) -> Case:
    """Opens the case for a newly submitted request, waiting in its service point's
    verification queue, due by the service's deadline in working days."""
    case = Case(
        request_id=submitted.request_id,
        service_code=submitted.service_code,
        applicant=submitted.applicant,
        service_point=submitted.actor.service_point or default_service_point,
        state=CaseState.SUBMITTED,
        opened_at=now,
        due_at=to_the_second(calendar.due_at(now, submitted.deadline_working_days)),
        missing_documents=set(submitted.missing_documents),
        submitted_at=submitted.submitted_at,
        channel=channel_of(submitted.actor),
    )
    case.events.append(
        CaseOpened(
            actor=PROCESSING,
            request_id=case.request_id,
            service_code=case.service_code,
            state=case.state.value,
            opened_at=now,
            due_at=case.due_at,
            service_point=case.service_point,
            applicant_name=case.applicant.name,
            contact_phone=case.applicant.phone,
            contact_channel=case.applicant.preferred_channel,
        )
    )
    return case


def channel_of(submitter: Actor) -> str:
    """Where a request came in: a village operator, a counter, or the citizen's own channel."""
    if submitter.kind is ActorKind.OPERATOR:
        return "VILLAGE_OPERATOR"
    if submitter.kind is ActorKind.STAFF:
        return "COUNTER"
    return {Channel.WHATSAPP: "WHATSAPP", Channel.SMS: "SMS"}.get(submitter.channel, "WEB")
