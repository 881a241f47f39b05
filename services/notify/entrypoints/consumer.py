"""Notify's Kafka entry point: the events it consumes, translated into use cases."""

from __future__ import annotations

from services.notify.domain.delivery_status import StatusReport
from services.notify.domain.recipients import CASE_STEPS, CaseStep
from services.notify.service_layer import messages, staff_notices
from services.notify.service_layer.outgoing import MessageContext
from services.notify.service_layer.statuses import take_report
from shared.events.models.appointments import AppointmentBooked, AppointmentCancelled
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.conversations import ConversationReply, DeliveryReported
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.events.models.requests import RequestSubmitted
from shared.messagebus import Received, Subscription

subscription: Subscription[MessageContext] = Subscription("notify")
CASE_DEADLINES: tuple[type[DeadlineWarning | DeadlineBreached], ...] = (
    DeadlineWarning,
    DeadlineBreached,
)


@subscription.on(RequestSubmitted)
async def on_request_submitted(
    message: Received[RequestSubmitted], context: MessageContext
) -> None:
    await messages.queue_receipt(
        submitted=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(*CASE_STEPS)
async def on_case_step(message: Received[CaseStep], context: MessageContext) -> None:
    await messages.queue_case_step(
        step=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(AppointmentBooked)
async def on_appointment_booked(
    message: Received[AppointmentBooked], context: MessageContext
) -> None:
    await messages.queue_appointment_confirmation(
        booked=message.data, event_id=message.event_id, context=context, now=message.now
    )
    await messages.queue_appointment_reminder(booked=message.data, context=context, now=message.now)


@subscription.on(AppointmentCancelled)
async def on_appointment_cancelled(
    message: Received[AppointmentCancelled], context: MessageContext
) -> None:
    await messages.cancel_appointment_reminder(
        cancelled=message.data, context=context, now=message.now
    )
    await messages.queue_appointment_cancellation(
        cancelled=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(*CASE_DEADLINES)
async def on_case_deadline(
    message: Received[DeadlineWarning | DeadlineBreached], context: MessageContext
) -> None:
    await staff_notices.queue_case_deadline_notices(
        event=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(DispositionReminded)
async def on_disposition_reminded(
    message: Received[DispositionReminded], context: MessageContext
) -> None:
    await staff_notices.queue_disposition_reminder(
        reminded=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(DispositionEscalated)
async def on_disposition_escalated(
    message: Received[DispositionEscalated], context: MessageContext
) -> None:
    await staff_notices.queue_disposition_escalation(
        escalated=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(ComplaintFiled)
async def on_complaint_filed(message: Received[ComplaintFiled], context: MessageContext) -> None:
    await messages.queue_complaint_acknowledgement(
        filed=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(SignInCodeRequested)
async def on_sign_in_code_requested(
    message: Received[SignInCodeRequested], context: MessageContext
) -> None:
    await messages.queue_sign_in_code(
        requested=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(ConversationReply)
async def on_conversation_reply(
    message: Received[ConversationReply], context: MessageContext
) -> None:
    await messages.queue_conversation_reply(
        reply=message.data, event_id=message.event_id, context=context, now=message.now
    )


@subscription.on(DeliveryReported)
async def on_delivery_reported(
    message: Received[DeliveryReported], context: MessageContext
) -> None:
    reported = message.data
    report = StatusReport(
        channel=reported.channel,
        provider_message_id=reported.provider_message_id,
        status=reported.status,
        at=reported.at,
        idempotency_key=reported.idempotency_key,
        error_code=reported.error_code,
        error_reason=reported.error_title,
    )
    await take_report(report=report, context=context.statuses)
