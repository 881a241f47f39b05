"""Notify's notices to staff: deadlines of cases and of letters' dispositions, by e-mail to the
officers and supervisors concerned, and only while the step is fresh."""

from __future__ import annotations

import logging
from datetime import datetime

from services.notify.domain import messages
from services.notify.domain.staff import Addressees, StaffMember, stale
from services.notify.domain.templates import Message
from services.notify.service_layer.outgoing import MessageContext, queue_message
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.values import DeliveryChannel

log = logging.getLogger(__name__)

UNKNOWN_SERVICE = "permohonan"
"""How a staff notice names the service of a request notify never learnt."""


async def queue_case_deadline_notices(
    *,
    event: DeadlineWarning | DeadlineBreached,
    event_id: str,
    context: MessageContext,
    now: datetime,
) -> None:
    """E-mails the officer holding the case (if anyone) and the supervisors of its service
    point that its time is running out, or has run out."""
    if _too_late(event, event_id=event_id, now=now):
        return
    addressees = context.staff.of_case_deadline(
        holder=event.holder, service_point=event.service_point
    )
    recipients = await context.recipients.get(event.request_id)
    tracking_number = event.request_id if recipients is None else recipients.tracking_number
    labels = context.templates.labels
    service = UNKNOWN_SERVICE if recipients is None else labels.service(recipients.service_code)
    holder = None if event.holder is None else context.staff.name_of(event.holder)
    for member in _reachable(addressees, event_id=event_id):
        message = messages.case_deadline(
            event,
            to=member.name,
            tracking_number=tracking_number,
            service=service,
            holder=holder,
            labels=labels,
        )
        await _tell_staff(
            context, member, event_id=event_id, message=message, about=event.request_id, now=now
        )


async def queue_disposition_reminder(
    *, reminded: DispositionReminded, event_id: str, context: MessageContext, now: datetime
) -> None:
    """E-mails a disposition's holder that it lies unread, or that its deadline nears."""
    if _too_late(reminded, event_id=event_id, now=now):
        return
    for member in _reachable(context.staff.addressees([reminded.holder]), event_id=event_id):
        message = messages.disposition_reminder(reminded, to=member.name)
        await _tell_staff(
            context, member, event_id=event_id, message=message, about=reminded.letter_id, now=now
        )


async def queue_disposition_escalation(
    *, escalated: DispositionEscalated, event_id: str, context: MessageContext, now: datetime
) -> None:
    """E-mails who disposed that the holder let the disposition's deadline pass."""
    if _too_late(escalated, event_id=event_id, now=now):
        return
    holder = context.staff.name_of(escalated.holder)
    addressees = context.staff.addressees([escalated.escalated_to])
    for member in _reachable(addressees, event_id=event_id):
        message = messages.disposition_escalation(escalated, to=member.name, holder=holder)
        await _tell_staff(
            context, member, event_id=event_id, message=message, about=escalated.letter_id, now=now
        )


def _too_late(
    event: DeadlineWarning | DeadlineBreached | DispositionReminded | DispositionEscalated,
    *,
    event_id: str,
    now: datetime,
) -> bool:
    if not stale(event.at, now=now):
        return False
    log.info("staff notice not sent: its step is over a day old", extra={"event_id": event_id})
    return True


def _reachable(addressees: Addressees, *, event_id: str) -> tuple[StaffMember, ...]:
    """The addressees the directory knows; those it lacks are logged by subject, so the office
    can add them (their notices of this event are not sent)."""
    for subject in addressees.unknown:
        log.warning(
            "staff notice not sent: %s is not in the staff directory",
            subject,
            extra={"event_id": event_id},
        )
    if not addressees.members and not addressees.unknown:
        log.warning("staff notice sent to no one: no addressee", extra={"event_id": event_id})
    return addressees.members


async def _tell_staff(
    context: MessageContext,
    member: StaffMember,
    *,
    event_id: str,
    message: Message,
    about: str,
    now: datetime,
) -> None:
    """By e-mail, with the SMS fallback of a member whose directory entry has a phone; like
    every message that can wait, held through quiet hours: nothing is worked on at night."""
    fallback = () if member.phone is None else (DeliveryChannel.SMS,)
    addresses = {} if member.phone is None else {DeliveryChannel.SMS: member.phone}
    await queue_message(
        context,
        event_id=event_id,
        message=message,
        about=about,
        to=member.email,
        channel=DeliveryChannel.EMAIL,
        fallback=fallback,
        addresses=addresses,
        now=now,
        role=member.notice_role,
    )
