"""Notify's use cases for citizens: the message each event sends them, to whom, once.

A request's later steps are addressed from what its `RequestSubmitted` said; a step that
overtakes it is parked until then. Staff notices are in `staff_notices.py`; how a message is
queued, in `outgoing.py`.
"""

from __future__ import annotations

from datetime import datetime

from services.notify.domain import messages, reminders
from services.notify.domain.notification import conversation_reply_message
from services.notify.domain.recipients import CaseStep, OperatorNotice, ParkedStep, Recipients
from services.notify.domain.templates import Message
from services.notify.service_layer.outgoing import (
    MessageContext,
    hand_over,
    queue_message,
    queue_to_phone,
)
from shared.errors import RetryableError
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import DeliveryChannel

COMPLAINT_CHANNEL = DeliveryChannel.SMS
"""A complaint does not say how its citizen wants to hear back; every phone takes SMS."""


async def queue_receipt(
    *, submitted: RequestSubmitted, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Learns who hears about the request, tells the citizen it is in (unless the chat they
    applied in already did), and sends the steps that overtook it."""
    recipients = Recipients.learnt_from(submitted)
    parked = await context.recipients.learn(recipients)
    if submitted.acknowledged_on is None:
        receipt = messages.receipt(submitted, context.templates.labels)
        await _tell(context, recipients, event_id=event_id, message=receipt, now=now)
    for item in parked:
        message = _step_message(context, item.step, recipients)
        await _tell(context, recipients, event_id=item.event_id, message=message, now=now)
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
    message = _step_message(context, step, recipients)
    await _tell(context, recipients, event_id=event_id, message=message, now=now)


async def queue_appointment_confirmation(
    *, booked: AppointmentBooked, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Confirms a booked visit to the phone it was booked with, if any and unless the chat it
    was booked in already did; a rescheduled visit is told as moved, to the phone its first
    booking was made with."""
    if booked.phone is None or booked.acknowledged_on is not None:
        return
    message = messages.appointment_confirmation(booked, context.templates.labels)
    await queue_to_phone(
        context,
        event_id=event_id,
        message=message,
        about=booked.appointment_id,
        phone=booked.phone,
        preferred=booked.contact_channel,
        now=now,
    )


async def queue_appointment_cancellation(
    *, cancelled: AppointmentCancelled, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Tells the phone a visit was booked with that it was cancelled, whoever cancelled it; a
    visit moved is told by its new booking instead."""
    if cancelled.phone is None or cancelled.rescheduled_to is not None:
        return
    await queue_to_phone(
        context,
        event_id=event_id,
        message=messages.appointment_cancellation(cancelled, context.templates.labels),
        about=cancelled.appointment_id,
        phone=cancelled.phone,
        preferred=cancelled.contact_channel,
        now=now,
    )


async def queue_complaint_acknowledgement(
    *, filed: ComplaintFiled, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Gives a named complaint's citizen its number, unless the chat they filed it in already
    did; an anonymous one is answered no one."""
    if filed.anonymous or filed.phone is None or filed.acknowledged_on is not None:
        return
    await queue_message(
        context,
        event_id=event_id,
        message=messages.complaint_acknowledgement(filed),
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
    await queue_to_phone(
        context,
        event_id=event_id,
        message=messages.sign_in_code(requested),
        about=requested.challenge_id,
        phone=requested.phone,
        preferred=requested.channel,
        now=now,
    )


async def queue_conversation_reply(
    *, reply: ConversationReply, event_id: str, context: MessageContext, now: datetime
) -> None:
    """Queues intake's answer to a citizen's chat message."""
    await hand_over(context, conversation_reply_message(event_id, reply, now=now))


async def queue_appointment_reminder(
    *, booked: AppointmentBooked, context: MessageContext, now: datetime
) -> None:
    """Queues the reminder of a visit booked with a phone for 08:00 WIB the day before it, as of
    that moment, under `<appointment id>:reminder`: a cancellation that came first took that id,
    and a visit too near to need it gets none."""
    due = reminders.reminder_due(booked.starts_at, now=now)
    if booked.phone is None or due is None:
        return
    await queue_to_phone(
        context,
        event_id=booked.appointment_id,
        message=messages.appointment_reminder(booked, context.templates.labels),
        about=booked.appointment_id,
        phone=booked.phone,
        preferred=booked.contact_channel,
        now=due,
        role=reminders.REMINDER_ROLE,
    )


async def cancel_appointment_reminder(
    *, cancelled: AppointmentCancelled, context: MessageContext, now: datetime
) -> None:
    """Calls off a cancelled (or rescheduled) visit's reminder; if it is not queued yet, takes
    its id, so that the booking, arriving later, queues none."""
    reminder_id = reminders.reminder_id(cancelled.appointment_id)
    if await context.repository.cancel(reminder_id):
        return
    if await context.repository.add(
        reminders.cancelled_reminder(cancelled.appointment_id, now=now)
    ):
        return
    # Queued between the two calls above, or already sent or called off: cancel what is pending.
    await context.repository.cancel(reminder_id)


def _step_message(context: MessageContext, step: CaseStep, recipients: Recipients) -> Message:
    return messages.case_step(step, recipients, context.templates.labels, context.survey_url)


async def _tell(
    context: MessageContext,
    recipients: Recipients,
    *,
    event_id: str,
    message: Message,
    now: datetime,
) -> None:
    """Messages the citizen; a citizen without a phone, through the village operator or counter
    officer who submitted for them, by SMS to the phone in their token, the message marked as
    theirs to pass on; without that phone, records what they are owed."""
    if recipients.phone is None:
        if recipients.assisted_contact is None:
            notice = OperatorNotice(event_id=event_id, template=message.template)
            await context.recipients.owe_operator(recipients.request_id, notice)
            return
        await queue_message(
            context,
            event_id=event_id,
            message=message,
            about=recipients.request_id,
            to=recipients.assisted_contact,
            channel=DeliveryChannel.SMS,
            now=now,
            role="operator",
            forwarded_for=recipients,
        )
        return
    await queue_to_phone(
        context,
        event_id=event_id,
        message=message,
        about=recipients.request_id,
        phone=recipients.phone,
        preferred=recipients.channel,
        now=now,
    )
