"""A message to one person, its delivery attempts, and the events its outcome emits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from shared.events.envelope import Actor, Event
from shared.events.models import (
    CaseOpened,
    ConversationReply,
    NotificationChannel,
    NotificationFailed,
    NotificationSent,
    SignInCodeRequested,
)

NOTIFY = Actor.system("notify")

FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=10)


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass
class Notification:
    notification_id: str
    about: str
    channel: NotificationChannel
    recipient: str
    template: str
    text: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    provider_message_id: str | None = None
    events: list[Event] = field(default_factory=list)

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


def case_opened_message(
    event_id: str, opened: CaseOpened, *, recipient: str, now: datetime
) -> Notification:
    """Tells the citizen their request is being processed, free of charge."""
    text = (
        f"Yth. {opened.applicant_name}, permohonan {opened.service_code} Anda sudah kami terima "
        f"dan sedang diproses. Nomor permohonan: {opened.request_id}. Layanan ini GRATIS; "
        "jangan berikan uang kepada siapa pun. Dispendukcapil."
    )
    return Notification(
        notification_id=f"{event_id}:citizen",
        about=opened.request_id,
        channel=opened.contact_channel,
        recipient=recipient,
        template="case_opened",
        text=text,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )


def sign_in_code_message(
    event_id: str, requested: SignInCodeRequested, *, now: datetime
) -> Notification:
    """The one-time code a citizen asked for, with a warning never to pass it on."""
    text = (
        f"Kode masuk Adminduk Anda: {requested.code}. Berlaku 5 menit. Jangan berikan kode ini "
        "kepada siapa pun, termasuk petugas. Dispendukcapil."
    )
    return Notification(
        notification_id=f"{event_id}:citizen",
        about=requested.challenge_id,
        channel=requested.channel,
        recipient=requested.phone,
        template="sign_in_code",
        text=text,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )


def conversation_reply_message(
    event_id: str, reply: ConversationReply, *, now: datetime
) -> Notification:
    """Intake's answer in a citizen's chat, sent as it is on the channel they wrote on."""
    return Notification(
        notification_id=f"{event_id}:reply",
        about=reply.reply_id,
        channel=reply.channel,
        recipient=reply.phone,
        template="conversation_reply",
        text=reply.text,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
