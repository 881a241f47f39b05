"""Delivery statuses of the office's outgoing WhatsApp messages, passed on to notify.

Meta calls one callback URL for citizens' messages and for the statuses of the messages notify
sent, and that URL is intake's webhook. Each status is queued as a `DeliveryReported` event in
the inbound-messages store, in the write that marks it handled, before the webhook answers; a
status delivered again (same message, same status) finds the mark and queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.intake.service_layer.ports import InboundMessages
from services.intake.service_layer.submission import SOURCE
from shared.events.models.conversations import DeliveryReported

PROVIDER = "whatsapp-status"
"""The inbound-messages provider the statuses are recorded under, apart from citizens'
messages."""


@dataclass(frozen=True)
class DeliveryReportContext:
    inbound: InboundMessages


async def pass_on_report(
    *, reported: DeliveryReported, context: DeliveryReportContext, now: datetime
) -> bool:
    """Queues the status for notify the first time it is reported; False for a repeat, also
    one another instance took at the same time."""
    message_id = f"{reported.provider_message_id}:{reported.status.value.lower()}"
    if not await context.inbound.arrived(provider=PROVIDER, message_id=message_id, now=now):
        return False
    return await context.inbound.outgoing.commit(
        f"{PROVIDER}:{message_id}",
        [reported],
        partial(context.inbound.handled, provider=PROVIDER, message_id=message_id, now=now),
        source=SOURCE,
        time=now,
    )
