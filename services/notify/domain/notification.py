"""A message to one person, its delivery attempts, and the events its outcome emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.notify.domain.quiet_hours import QuietHours
from shared.events.envelope import Actor, Event
from shared.events.models import (
    ConversationReply,
    DeliveryChannel,
    NotificationFailed,
    NotificationSent,
)

NOTIFY = Actor.system("notify")

FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=10)
ANSWERS = frozenset({"sign_in_code", "conversation_reply"})
"""Templates of what a citizen is waiting for at that moment: sent even in quiet hours."""


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(frozen=True)
class ApprovedTemplate:
    """How WhatsApp takes a message the citizen did not just ask for: a template Meta approved,
    named with its language, and its parameters' values in order."""

    name: str
    language: str
    parameters: tuple[str, ...]


@dataclass
class Notification:
    notification_id: str
    about: str
    channel: DeliveryChannel
    recipient: str
    template: str
    text: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    approved_template: ApprovedTemplate | None = None
    subject: str | None = None
    """An e-mail's subject line."""
    last_error: str | None = None
    provider_message_id: str | None = None
    events: list[Event] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str:
        """One per event, recipient and channel: a provider that dedupes by key sends it once."""
        return f"{self.notification_id}:{self.channel.value}"

    @property
    def can_wait(self) -> bool:
        """Whether quiet hours hold it back: all but sign-in codes and replies in a chat."""
        return self.template not in ANSWERS

    def hold_for_quiet_hours(self, quiet_hours: QuietHours | None, now: datetime) -> bool:
        """Puts off a message that can wait until quiet hours end; True if it was put off."""
        if quiet_hours is None or not self.can_wait or not quiet_hours.holds(now):
            return False
        self.next_attempt_at = quiet_hours.release(now)
        return True

    def mark_sent(self, *, provider_message_id: str, now: datetime) -> None:
        self.attempts += 1
        self.status = NotificationStatus.SENT
        self.provider_message_id = provider_message_id
        self.events.append(
            NotificationSent(
                actor=NOTIFY,
                notification_id=self.notification_id,
                about=self.about,
                channel=self.channel,
                template=self.template,
                provider_message_id=provider_message_id,
                sent_at=now,
            )
        )

    def mark_attempt_failed(
        self, *, reason: str, retryable: bool, max_attempts: int, now: datetime
    ) -> None:
        """Schedules the next try with exponential backoff, or gives up and says so."""
        self.attempts += 1
        self.last_error = reason
        if retryable and self.attempts < max_attempts:
            self.next_attempt_at = now + retry_delay(self.attempts)
            return
        self.status = NotificationStatus.FAILED
        self.events.append(
            NotificationFailed(
                actor=NOTIFY,
                notification_id=self.notification_id,
                about=self.about,
                channel=self.channel,
                attempts=self.attempts,
                reason=reason,
                failed_at=now,
            )
        )


def retry_delay(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … up to ten minutes between tries."""
    delay: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 16)
    return min(delay, LONGEST_RETRY)


def new_message(
    *,
    notification_id: str,
    about: str,
    channel: DeliveryChannel,
    recipient: str,
    template: str,
    text: str,
    now: datetime,
    quiet_hours: QuietHours | None,
    approved_template: ApprovedTemplate | None = None,
) -> Notification:
    """A pending message, due at once or, if it can wait, when quiet hours end."""
    notification = Notification(
        notification_id=notification_id,
        about=about,
        channel=channel,
        recipient=recipient,
        template=template,
        text=text,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        approved_template=approved_template,
    )
    notification.hold_for_quiet_hours(quiet_hours, now)
    return notification


def conversation_reply_message(
    event_id: str, reply: ConversationReply, *, now: datetime
) -> Notification:
    """Intake's answer in a citizen's chat, sent as it is on the channel they wrote on: the
    citizen wrote within the day, so WhatsApp takes free text."""
    return new_message(
        notification_id=f"{event_id}:reply",
        about=reply.reply_id,
        channel=DeliveryChannel.of(reply.channel),
        recipient=reply.phone,
        template="conversation_reply",
        text=reply.text,
        now=now,
        quiet_hours=None,
    )
