"""Notify's delivery statuses: what providers report of the messages they accepted, recorded
once each and published for audit, and a request's message history for staff and its citizen.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.notify.domain.delivery_status import (
    PROGRESS,
    DeliveryRecord,
    StatusReport,
    notification_id_of,
    record_id,
)
from services.notify.domain.notification import Notification
from services.notify.domain.recipients import Recipients
from services.notify.service_layer.ports import (
    DeliveryStatusStore,
    HistoryReads,
    NotificationRepository,
    PermanentFailures,
    RecipientDirectory,
    UncertainDeliveries,
)
from shared.clock import Clock
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.notifications import NotificationHistoryViewed
from shared.events.models.values import DeliveryChannel, DeliveryStatus
from shared.identity import Principal, Role

SOURCE = "/adminduk/notify"
MAX_RACES = 20
"""Reports of one message racing each other: each retry follows a write that won."""
HISTORY_STAFF = frozenset(
    {Role.VERIFIER, Role.OPERATOR, Role.SIGNER, Role.COUNTER_OFFICER, Role.SUPERVISOR}
)
"""The officers who read cases (processing's access table): they answer a citizen who asks
whether the office's messages reached them, for the cases of their own service point."""


class UnknownRequest(Refusal):
    """No such request, or not the caller's: the two are not told apart."""

    def __init__(self, request_id: str) -> None:
        super().__init__("request_not_found", "Permohonan tidak ditemukan.", Kind.NOT_FOUND)
        self.request_id = request_id


@dataclass(frozen=True)
class StatusContext:
    store: DeliveryStatusStore
    notifications: NotificationRepository
    clock: Clock
    uncertain: UncertainDeliveries | None = None
    """Settles an attempt whose answer was lost, once a status shows it went out."""
    failures: PermanentFailures | None = None
    """Falls back to another channel when a message will not arrive on its own."""


async def take_report(*, report: StatusReport, context: StatusContext) -> DeliveryRecord:
    """Records a status the first time it is reported, with its event, and passes on what it
    settles: an attempt in doubt went out, or a message will not arrive on its channel."""
    for _ in range(MAX_RACES):
        record = await context.store.get(report.channel, report.provider_message_id)
        if record is None:
            record = DeliveryRecord(
                channel=report.channel, provider_message_id=report.provider_message_id
            )
        if record.notification_id is None and report.idempotency_key is not None:
            await _learn_notification(record, report.idempotency_key, context)
        if not record.take(report):
            break
        if await context.store.outgoing.commit(
            record.record_id,
            record.events,
            partial(context.store.save, record),
            source=SOURCE,
            time=context.clock(),
        ):
            break
    else:
        raise RuntimeError(
            f"reports of {record_id(report.channel, report.provider_message_id)} kept racing"
        )
    await _pass_on(record, report, context)
    return record


async def _learn_notification(
    record: DeliveryRecord, idempotency_key: str, context: StatusContext
) -> None:
    notification_id = notification_id_of(idempotency_key)
    notification = await context.notifications.get(notification_id)
    about = None if notification is None else notification.about
    record.learn_notification(notification_id=notification_id, about=about)


async def _pass_on(record: DeliveryRecord, report: StatusReport, context: StatusContext) -> None:
    """Repeated reports pass on again: a first passing on may have been lost in a crash."""
    if context.uncertain is not None and report.idempotency_key is not None:
        await context.uncertain.resolve_uncertain(
            idempotency_key=report.idempotency_key,
            provider_message_id=report.provider_message_id,
        )
    if (
        context.failures is not None
        and report.status is DeliveryStatus.FAILED
        and record.permanently_failed
        and record.notification_id is not None
    ):
        await context.failures.delivery_failed(record)


@dataclass(frozen=True)
class HistoryContext:
    reads: HistoryReads
    notifications: NotificationRepository
    store: DeliveryStatusStore
    recipients: RecipientDirectory
    clock: Clock
    default_service_point: str
    """Where requests not submitted at a counter are worked on (`ServiceSettings`)."""


@dataclass(frozen=True)
class MessageHistory:
    notification: Notification
    deliveries: list[DeliveryRecord]
    """What providers reported, per provider message, the furthest first."""

    @property
    def delivery_status(self) -> DeliveryStatus | None:
        statuses = [record.status for record in self.deliveries if record.status is not None]
        return max(statuses, key=PROGRESS.__getitem__, default=None)

    @property
    def sent_at(self) -> datetime | None:
        """When a provider took it, or else the first time a provider reported it sent."""
        sent = [
            seen.at
            for record in self.deliveries
            for seen in record.seen.values()
            if seen.status is DeliveryStatus.SENT
        ]
        return self.notification.sent_at or min(sent, default=None)

    @property
    def last_error(self) -> str | None:
        """A permanent failure a provider reported, or else the last refusal by the provider."""
        for record in self.deliveries:
            if record.permanently_failed and (failure := record.failure) is not None:
                return failure.error_reason or failure.error_code or "FAILED"
        return self.notification.last_error


def may_read_history(
    principal: Principal, recipients: Recipients, *, default_service_point: str
) -> bool:
    """The officers of the service point that works on the request's case, the one whose cases
    processing lets them read, and the citizen whose phone the request gives."""
    case_service_point = recipients.case_service_point(default_service_point)
    if principal.roles & HISTORY_STAFF and principal.service_point == case_service_point:
        return True
    return (
        Role.CITIZEN in principal.roles
        and recipients.phone is not None
        and principal.phone_number == recipients.phone
    )


async def request_history(
    *, request_id: str, principal: Principal, context: HistoryContext
) -> list[MessageHistory]:
    """Every message about the request, newest first; UnknownRequest when there is no such
    request or it is not the caller's (another citizen's, another service point's), so that
    trying ids reveals nothing. An officer's read is queued as an event before the history is
    handed out, so no read escapes the audit log; a refused one is no read."""
    recipients = await context.recipients.get(request_id)
    if recipients is None or not may_read_history(
        principal, recipients, default_service_point=context.default_service_point
    ):
        raise UnknownRequest(request_id)
    notifications = await context.notifications.about(request_id)
    if principal.roles & HISTORY_STAFF:
        await _record_read(request_id, principal, messages=len(notifications), context=context)
    return await asyncio.gather(
        *(_history(notification, context.store) for notification in reversed(notifications))
    )


async def _record_read(
    request_id: str, principal: Principal, *, messages: int, context: HistoryContext
) -> None:
    now = context.clock()
    viewed = NotificationHistoryViewed(
        actor=Actor(
            kind=ActorKind.STAFF,
            id=principal.subject,
            role=",".join(sorted(principal.roles & HISTORY_STAFF)),
            service_point=principal.service_point,
            channel=Channel.API,
        ),
        request_id=request_id,
        messages=messages,
        viewed_at=now,
    )
    await context.reads.outgoing.commit(
        request_id,
        [viewed],
        partial(context.reads.record_read, request_id),
        source=SOURCE,
        time=now,
    )


async def _history(notification: Notification, store: DeliveryStatusStore) -> MessageHistory:
    """The reports of each channel it went out on: by the key it was sent under on each, and by
    the provider's id notify stored."""
    lookups = [
        store.status_for_key(f"{notification.notification_id}:{channel.value}")
        for channel in DeliveryChannel
    ]
    if notification.provider_message_id is not None:
        lookups.append(store.get(notification.channel, notification.provider_message_id))
    found = await asyncio.gather(*lookups)
    records = {record.record_id: record for record in found if record is not None}
    deliveries = sorted(
        records.values(),
        key=lambda record: -1 if record.status is None else PROGRESS[record.status],
        reverse=True,
    )
    return MessageHistory(notification=notification, deliveries=deliveries)
