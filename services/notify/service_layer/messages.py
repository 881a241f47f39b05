"""Notify's use cases: the message each event sends, to whom, once.

A message's id is the event's id and the recipient's role, and the repository refuses a second
with one id, so a redelivered event queues nothing new. A request's later steps are addressed
from what its `RequestSubmitted` said; a step that overtakes it is parked until then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.notify.domain import messages, reminders
from services.notify.domain.notification import Leg, conversation_reply_message, new_message
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.recipients import CaseStep, OperatorNotice, ParkedStep, Recipients
from services.notify.domain.route import phone_fallback
from services.notify.domain.staff import Addressees, StaffDirectory, StaffMember, stale
from services.notify.domain.templates import Message, Templates
from services.notify.service_layer.delivery import DeliveryReady
from services.notify.service_layer.ports import NotificationRepository, RecipientDirectory
from services.notify.service_layer.statuses import StatusContext
from shared.errors import RetryableError
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.requests import RequestSubmitted
from shared.events.models.values import DeliveryChannel, NotificationChannel

log = logging.getLogger(__name__)

COMPLAINT_CHANNEL = DeliveryChannel.SMS
"""A complaint does not say how its citizen wants to hear back; every phone takes SMS."""
UNKNOWN_SERVICE = "permohonan"
"""How a staff notice names the service of a request notify never learnt."""


@dataclass(frozen=True)
class MessageContext:
    repository: NotificationRepository
    recipients: RecipientDirectory
    templates: Templates
    delivery_ready: DeliveryReady
    quiet_hours: QuietHours | None
    survey_url: str
    """Where citizens rate the service; a completed request's link adds its tracking number."""
    statuses: StatusContext
    """Where the delivery statuses intake passes on are recorded."""
    staff: StaffDirectory = field(default_factory=StaffDirectory)
    """Who staff notices go to; none known until bootstrap gives the office's directory."""


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
    await _queue_to_phone(
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
    await _queue_to_phone(
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
    await _queue(
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
    await _queue_to_phone(
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
    notification = conversation_reply_message(event_id, reply, now=now)
    if await context.repository.add(notification):
        context.delivery_ready(notification)


async def queue_appointment_reminder(
    *, booked: AppointmentBooked, context: MessageContext, now: datetime
) -> None:
    """Queues the reminder of a visit booked with a phone for 08:00 WIB the day before it, as of
    that moment, under `<appointment id>:reminder`: a cancellation that came first took that id,
    and a visit too near to need it gets none."""
    due = reminders.reminder_due(booked.starts_at, now=now)
    if booked.phone is None or due is None:
        return
    await _queue_to_phone(
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
    await _queue(
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
        await _queue(
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
    await _queue_to_phone(
        context,
        event_id=event_id,
        message=message,
        about=recipients.request_id,
        phone=recipients.phone,
        preferred=recipients.channel,
        now=now,
    )


async def _queue_to_phone(
    context: MessageContext,
    *,
    event_id: str,
    message: Message,
    about: str,
    phone: str,
    preferred: NotificationChannel,
    now: datetime,
    role: str = "citizen",
) -> None:
    """A citizen's message: on the channel they prefer, then on what every phone takes."""
    first = DeliveryChannel.of(preferred)
    await _queue(
        context,
        event_id=event_id,
        message=message,
        about=about,
        to=phone,
        channel=first,
        fallback=phone_fallback(first),
        now=now,
        role=role,
    )


async def _queue(
    context: MessageContext,
    *,
    event_id: str,
    message: Message,
    about: str,
    to: str,
    channel: DeliveryChannel,
    now: datetime,
    role: str = "citizen",
    forwarded_for: Recipients | None = None,
    fallback: tuple[DeliveryChannel, ...] = (),
    addresses: Mapping[DeliveryChannel, str] | None = None,
) -> None:
    """Queues one message per event and role, on `channel` to `to`, then on each `fallback`
    channel in turn if the one before is given up, to its address in `addresses` or else to
    `to` (e.g. staff: `channel=EMAIL, to=<e-mail>, fallback=(SMS,), addresses={SMS: <phone>}`).
    The message is rendered for each channel; by SMS in its short form for whoever passes it on
    to the citizen `forwarded_for`."""
    route = tuple(
        _leg(context, message, leg_channel, (addresses or {}).get(leg_channel, to), forwarded_for)
        for leg_channel in dict.fromkeys((channel, *fallback))
    )
    notification = new_message(
        notification_id=f"{event_id}:{role}",
        about=about,
        route=route,
        template=message.template,
        now=now,
        quiet_hours=context.quiet_hours,
    )
    if await context.repository.add(notification):
        context.delivery_ready(notification)


def _leg(
    context: MessageContext,
    message: Message,
    channel: DeliveryChannel,
    to: str,
    forwarded_for: Recipients | None,
) -> Leg:
    if forwarded_for is not None and channel is DeliveryChannel.SMS:
        rendered = context.templates.render_forwarded(
            message, name=forwarded_for.name, tracking_number=forwarded_for.tracking_number
        )
    else:
        rendered = context.templates.render(message, channel)
    return Leg(
        channel=channel,
        recipient=to,
        text=rendered.text,
        subject=rendered.subject,
        approved_template=rendered.approved_template,
    )
