"""The messages about a request and what became of each: for the officers of the service point
that works on its case, and for the citizen whose phone the request gives. Never the text, and
the number only masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from services.notify.domain.delivery_status import DeliveryRecord, mask_recipient
from services.notify.service_layer.statuses import (
    HistoryContext,
    MessageHistory,
    request_history,
)
from shared.dependencies import provided
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.http.error_bodies import error_response, error_responses
from shared.identity import Principal

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


async def get_principal(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


HistoryDep = Annotated[HistoryContext, Depends(provided(HistoryContext))]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


class StatusView(BaseModel):
    status: DeliveryStatus
    at: datetime = Field(description="When the provider says it happened (UTC).")
    error_code: str | None = Field(description="The provider's error code of a failure.")
    error_reason: str | None = Field(description="The provider's title of a failure.")


class DeliveryView(BaseModel):
    channel: DeliveryChannel
    provider_message_id: str = Field(description="The provider's id for the message.")
    status: DeliveryStatus | None = Field(
        description="The furthest the message got: a late report never lowers it."
    )
    statuses: list[StatusView] = Field(description="Every status reported, oldest first.")


class MessageView(BaseModel):
    notification_id: str
    template: str = Field(description="Which message it is, e.g. `receipt`.")
    channel: DeliveryChannel = Field(description="The channel it goes out on (now).")
    recipient: str = Field(description="The number or address, masked: `+62812****890`.")
    status: str = Field(description="Notify's own: PENDING, SENT, FAILED, …")
    attempts: int = Field(description="Deliveries tried on its channel.")
    created_at: datetime
    provider_message_id: str | None = Field(
        description="The provider's id for it on its channel, once the provider took it."
    )
    sent_at: datetime | None = Field(
        description="When a provider took it (or, failing that, first reported it sent); none "
        "while it has not gone out."
    )
    delivery_status: DeliveryStatus | None = Field(
        description="The furthest any provider reports it got; none before a report."
    )
    deliveries: list[DeliveryView] = Field(description="Each provider message's statuses.")
    last_error: str | None = Field(
        description="Why it failed or was last refused, without personal data."
    )


class HistoryView(BaseModel):
    request_id: str
    messages: list[MessageView] = Field(description="This page of the messages, newest first.")
    total: int = Field(description="How many messages there are about the request.")
    next_offset: int | None = Field(description="Where the next page starts; none at the end.")


@router.get(
    "",
    responses={
        status.HTTP_404_NOT_FOUND: error_response(
            status.HTTP_404_NOT_FOUND,
            "No such request, or not the caller's: another citizen's, or for an officer one "
            "of another service point (`request_not_found`).",
        ),
        **error_responses(422, 503),
    },
)
async def notification_history(
    context: HistoryDep,
    principal: PrincipalDep,
    request_id: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[!-~]+$")],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> HistoryView:
    """Every message about the request, newest first, with what its providers reported."""
    histories = await request_history(request_id=request_id, principal=principal, context=context)
    page = histories[offset : offset + limit]
    following = offset + len(page)
    return HistoryView(
        request_id=request_id,
        messages=[_message(item) for item in page],
        total=len(histories),
        next_offset=following if following < len(histories) else None,
    )


def _message(item: MessageHistory) -> MessageView:
    notification = item.notification
    return MessageView(
        notification_id=notification.notification_id,
        template=notification.template,
        channel=notification.channel,
        recipient=mask_recipient(notification.recipient),
        status=notification.status.value,
        attempts=notification.attempts,
        created_at=notification.created_at,
        provider_message_id=notification.provider_message_id,
        sent_at=item.sent_at,
        delivery_status=item.delivery_status,
        deliveries=[_delivery(record) for record in item.deliveries],
        last_error=item.last_error,
    )


def _delivery(record: DeliveryRecord) -> DeliveryView:
    return DeliveryView(
        channel=record.channel,
        provider_message_id=record.provider_message_id,
        status=record.status,
        statuses=[
            StatusView(
                status=seen.status,
                at=seen.at,
                error_code=seen.error_code,
                error_reason=seen.error_reason,
            )
            for seen in record.history()
        ],
    )
