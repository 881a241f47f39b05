"""Notify's Kafka entry point: the events it consumes, translated into use cases."""

from __future__ import annotations

from dataclasses import dataclass

from services.notify.service_layer import delivery
from services.notify.service_layer.delivery import DeliveryReady
from services.notify.service_layer.ports import NotificationRepository
from shared.events.models import CaseOpened, ConversationReply, SignInCodeRequested
from shared.messagebus import Received, Subscription


@dataclass(frozen=True)
class Dependencies:
    repository: NotificationRepository
    delivery_ready: DeliveryReady


subscription: Subscription[Dependencies] = Subscription("notify")


@subscription.on(CaseOpened)
async def on_case_opened(message: Received[CaseOpened], deps: Dependencies) -> None:
    await delivery.queue_case_opened_message(
        opened=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        delivery_ready=deps.delivery_ready,
        now=message.now,
    )


@subscription.on(SignInCodeRequested)
async def on_sign_in_code_requested(
    message: Received[SignInCodeRequested], deps: Dependencies
) -> None:
    await delivery.queue_sign_in_code(
        requested=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        delivery_ready=deps.delivery_ready,
        now=message.now,
    )


@subscription.on(ConversationReply)
async def on_conversation_reply(message: Received[ConversationReply], deps: Dependencies) -> None:
    await delivery.queue_conversation_reply(
        reply=message.data,
        event_id=message.event_id,
        repository=deps.repository,
        delivery_ready=deps.delivery_ready,
        now=message.now,
    )
