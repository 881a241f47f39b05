"""How a message becomes a queued notification: one per event and role, on the channel chosen
and then its fallbacks, rendered for each channel.

A message's id is the event's id and the recipient's role, and the repository refuses a second
with one id, so a redelivered event queues nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.notify.domain.notification import Leg, Notification, new_message
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.recipients import Recipients
from services.notify.domain.route import phone_fallback
from services.notify.domain.staff import StaffDirectory
from services.notify.domain.templates import Message, Templates
from services.notify.service_layer.delivery import DeliveryReady, FirstClaim
from services.notify.service_layer.ports import NotificationRepository, RecipientDirectory
from services.notify.service_layer.statuses import StatusContext
from shared.events.models.values import DeliveryChannel, NotificationChannel


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
    claim_first_attempt: FirstClaim = lambda notification: None
    """Lets delivery claim a new message's first attempt as it is stored (`Delivery`); by
    default every attempt is claimed by a write of its own."""


async def hand_over(context: MessageContext, notification: Notification) -> None:
    """Stores a new message, once per id, and hands it to delivery."""
    context.claim_first_attempt(notification)
    if await context.repository.add(notification):
        context.delivery_ready(notification)


async def queue_to_phone(
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
    await queue_message(
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


async def queue_message(
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
    await hand_over(context, notification)


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
