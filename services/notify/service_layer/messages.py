"""Notify's use cases: the message each event sends, to whom, once.

A message's id is the event's id and the recipient's role, and the repository refuses a second
with one id, so a redelivered event queues nothing new. A request's later steps are addressed
from what its `RequestSubmitted` said; a step that overtakes it is parked until then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notify.domain import letters
from services.notify.domain.notification import conversation_reply_message, new_message
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.recipients import CaseStep, OperatorNotice, ParkedStep, Recipients
from services.notify.domain.templates import Letter, Templates
from services.notify.service_layer.delivery import DeliveryReady
from services.notify.service_layer.ports import NotificationRepository, RecipientDirectory
from shared.errors import RetryableError
from shared.events.models import (
    AppointmentBooked,
    ComplaintFiled,
    ConversationReply,
    DeliveryChannel,
    RequestSubmitted,
    SignInCodeRequested,
)
from shared.gsm7 import to_gsm7

COMPLAINT_CHANNEL = DeliveryChannel.SMS
"""A complaint does not say how its citizen wants to hear back; every phone takes SMS."""


@dataclass(frozen=True)
class MessageContext:
    repository: NotificationRepository
    recipients: RecipientDirectory
    templates: Templates
    delivery_ready: DeliveryReady
    quiet_hours: QuietHours | None
    survey_url: str
    """Where citizens rate the service; a completed request's link adds its tracking number."""


async def queue_receipt(
    *, submitted: RequestSubmitted, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Learns who hears about the request, tells the citizen it is in, and sends the steps that
    overtook it."""
    recipients = Recipients.learnt_from(submitted)
    parked = await context.recipients.learn(recipients)
    receipt = letters.receipt(submitted, context.templates.labels)
    await _tell(context, recipients, event_id=event_id, letter=receipt, now=now)
    for item in parked:
        letter = _step_letter(context, item.step, recipients)
        await _tell(context, recipients, event_id=item.event_id, letter=letter, now=now)
    if parked:
        await context.recipients.forget_parked(recipients.request_id)


async def queue_case_step(
    *, step: CaseStep, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Tells the citizen of a step of their request's case; parks it if the request is unknown."""
    recipients = await context.recipients.get(step.request_id)
    if recipients is None:
        parked = ParkedStep(event_id=event_id, step=step)
        if await context.recipients.park(step.request_id, parked):
            return
        recipients = await context.recipients.get(step.request_id)
        if recipients is None:
            raise RetryableError("the request was learnt but not read back yet")
    letter = _step_letter(context, step, recipients)
    await _tell(context, recipients, event_id=event_id, letter=letter, now=now)


async def queue_appointment_confirmation(
    *, booked: AppointmentBooked, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Confirms a booked visit to the phone it was booked with, if any."""
    if booked.phone is None:
        return
    letter = letters.appointment_confirmation(booked, context.templates.labels)
    await _queue(
        context,
        event_id=event_id,
        letter=letter,
        about=booked.appointment_id,
        to=booked.phone,
        channel=DeliveryChannel.of(booked.contact_channel),
        now=now,
    )


async def queue_complaint_acknowledgement(
    *, filed: ComplaintFiled, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Gives a named complaint's citizen its number; an anonymous one is answered no one."""
    if filed.anonymous or filed.phone is None:
        return
    await _queue(
        context,
        event_id=event_id,
        letter=letters.complaint_acknowledgement(filed),
        about=filed.complaint_id,
        to=filed.phone,
        channel=COMPLAINT_CHANNEL,
        now=now,
    )


async def queue_sign_in_code(
    *, requested: SignInCodeRequested, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Queues a citizen's one-time code, unless it expired on the way."""
    if requested.expires_at <= now:
        return
    await _queue(
        context,
        event_id=event_id,
        letter=letters.sign_in_code(requested),
        about=requested.challenge_id,
        to=requested.phone,
        channel=DeliveryChannel.of(requested.channel),
        now=now,
    )


async def queue_conversation_reply(
    *, reply: ConversationReply, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Queues intake's answer to a citizen's chat message."""
    notification = conversation_reply_message(event_id, reply, now=now)
    if await context.repository.add(notification):
        context.delivery_ready(notification)


def _step_letter(context: MessageContext, step: CaseStep, recipients: Recipients) -> Letter:
    return letters.case_step(step, recipients, context.templates.labels, context.survey_url)


async def _tell(
    context: MessageContext,
    recipients: Recipients,
    *,
    event_id: str,
    letter: Letter,
    now: datetime,
) -> None:
    """Messages the citizen; a citizen without a phone, through the village operator or counter
    officer who submitted for them, by SMS to the phone in their token, the message marked as
    theirs to pass on; without that phone, records what they are owed."""
    if recipients.phone is None:
        if recipients.assisted_contact is None:
            notice = OperatorNotice(event_id=event_id, template=letter.template)
            await context.recipients.owe_operator(recipients.request_id, notice)
            return
        await _queue(
            context,
            event_id=event_id,
            letter=letter,
            about=recipients.request_id,
            to=recipients.assisted_contact,
            channel=DeliveryChannel.SMS,
            now=now,
            role="operator",
            preface=f"Untuk warga {recipients.name} ({recipients.tracking_number}), mohon "
            "diteruskan: ",
        )
        return
    await _queue(
        context,
        event_id=event_id,
        letter=letter,
        about=recipients.request_id,
        to=recipients.phone,
        channel=DeliveryChannel.of(recipients.channel),
        now=now,
    )


async def _queue(
    context: MessageContext,
    *,
    event_id: str,
    letter: Letter,
    about: str,
    to: str,
    channel: DeliveryChannel,
    now: datetime,
    role: str = "citizen",
    preface: str = "",
) -> None:
    rendered = context.templates.render(letter, channel)
    notification = new_message(
        notification_id=f"{event_id}:{role}",
        about=about,
        channel=channel,
        recipient=to,
        template=letter.template,
        text=to_gsm7(preface) + rendered.text,
        approved_template=rendered.approved_template,
        now=now,
        quiet_hours=context.quiet_hours,
    )
    if await context.repository.add(notification):
        context.delivery_ready(notification)
