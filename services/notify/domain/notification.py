"""A message to one person, its route of channels, its delivery attempts, and the events its
outcome emits.

A notification holds the channel being tried (`channel`, `recipient`, `text`, …) and the channels
left to fall back to (`fallbacks`). Each channel has its own attempt count and its own
idempotency key. An attempt is recorded as in flight (`SENDING`, with a lease in
`next_attempt_at`) before the provider is called, so a crash or a second instance never sends it
twice unknowingly; see `resume_in_flight` for what happens to an attempt whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.route import phone_fallback
from shared.events.envelope import Actor, Event
from shared.events.models.conversations import ConversationReply
from shared.events.models.notifications import ChannelTried, NotificationFailed, NotificationSent
from shared.events.models.values import DeliveryChannel

NOTIFY = Actor.system("notify")

FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=10)
SMS_LONGEST = 1600
"""The SMS gateway's longest text, in characters (ten concatenated parts)."""
ANSWERS = frozenset({"sign_in_code", "conversation_reply"})
"""Templates of what a citizen is waiting for at that moment: sent even in quiet hours."""

Draw = Callable[[], float]
"""A number from 0 to 1, drawn afresh for each retry: the jitter of its delay."""


def longest_wait() -> float:
    """The draw without jitter: every retry waits its full backoff."""
    return 1.0


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    """Handed to the provider; `next_attempt_at` is when the lease on that attempt ends."""
    UNCERTAIN = "UNCERTAIN"
    """The provider may have taken it but never said so, and resending could send it twice;
    waits until `next_attempt_at` for a delivery status to settle it."""
    SENT = "SENT"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    """Called off before it was due (a reminder of a cancelled visit); delivery never tries it."""


UNSETTLED = (NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.UNCERTAIN)
"""Statuses with something still to do at `next_attempt_at`."""
IN_DOUBT = (NotificationStatus.SENDING, NotificationStatus.UNCERTAIN)
SETTLED_BY_STATUS = (NotificationStatus.SENT, *IN_DOUBT)
"""Statuses a provider's delivery report can still change."""


@dataclass(frozen=True)
class ApprovedTemplate:
    """How WhatsApp takes a message the citizen did not just ask for: a template Meta approved,
    named with its language, and its parameters' values in order."""

    name: str
    language: str
    parameters: tuple[str, ...]


@dataclass(frozen=True)
class Leg:
    """One channel of a message's route: where it goes there and how it reads there."""

    channel: DeliveryChannel
    recipient: str
    text: str
    subject: str | None = None
    approved_template: ApprovedTemplate | None = None


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
    """Attempts on the current channel."""
    next_attempt_at: datetime
    created_at: datetime
    approved_template: ApprovedTemplate | None = None
    subject: str | None = None
    """An e-mail's subject line."""
    last_error: str | None = None
    provider_message_id: str | None = None
    sent_at: datetime | None = None
    """When a provider took it: SENT from then on, whether or not the provider reports more."""
    fallbacks: tuple[Leg, ...] = ()
    """The channels still to try, in order, once the current one is given up."""
    tried: tuple[ChannelTried, ...] = ()
    """The channels given up so far, with their attempts and last error."""
    version: int = 0
    """The stored version it was read at: a write based on a stale read is refused."""
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

    def start_attempt(self, *, now: datetime, lease: timedelta) -> None:
        """Marks the attempt in flight until `now + lease`, to be stored before the call."""
        self.status = NotificationStatus.SENDING
        self.next_attempt_at = now + lease

    def mark_sent(self, *, provider_message_id: str, now: datetime) -> None:
        self.attempts += 1
        self.status = NotificationStatus.SENT
        self.provider_message_id = provider_message_id
        self.sent_at = now
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
        self,
        *,
        reason: str,
        retryable: bool,
        max_attempts: int,
        now: datetime,
        retry_after: timedelta | None = None,
        draw: Draw = longest_wait,
    ) -> None:
        """Schedules the next try on this channel with jittered exponential backoff (never
        sooner than the provider's `retry_after`), or gives the channel up."""
        self.attempts += 1
        self.last_error = reason
        if retryable and self.attempts < max_attempts:
            self.status = NotificationStatus.PENDING
            self.next_attempt_at = now + retry_delay(
                self.attempts, retry_after=retry_after, draw=draw
            )
            return
        self._give_up_channel(reason, now)

    def mark_uncertain(self, *, reason: str, now: datetime, window: timedelta) -> None:
        """Holds an attempt the provider may have taken, for a delivery status to settle."""
        self.status = NotificationStatus.UNCERTAIN
        self.last_error = reason
        self.next_attempt_at = now + window

    def resume_in_flight(self, *, resend_safe: bool, now: datetime, window: timedelta) -> None:
        """Settles an attempt whose lease ended without an answer (a crash, a lost instance).

        Where the provider dedupes by idempotency key, the attempt is simply made again under
        the same key: the provider sends at most one message. Where it does not (WhatsApp Cloud
        API, SMTP), resending could reach the person twice, so the attempt waits `window` for a
        delivery status (`resolve_uncertain`) instead.
        """
        if resend_safe:
            self.status = NotificationStatus.PENDING
            self.next_attempt_at = now
            return
        self.mark_uncertain(reason="no answer before the lease ended", now=now, window=window)

    def resolve_uncertain(self, *, provider_message_id: str, now: datetime) -> bool:
        """Records a delivery status that shows the attempt in flight or in doubt went out;
        False if nothing was waiting for it."""
        if self.status not in IN_DOUBT:
            return False
        self.mark_sent(provider_message_id=provider_message_id, now=now)
        return True

    def failed_after_acceptance(
        self, *, channel: DeliveryChannel, provider_message_id: str, reason: str, now: datetime
    ) -> bool:
        """The provider reported that a message it took never reached the person: the channel
        is given up as if it had refused it. False if the notification has moved on (another
        channel, or another provider message) or already failed."""
        if self.channel is not channel or self.status not in SETTLED_BY_STATUS:
            return False
        if self.status is NotificationStatus.SENT:
            if self.provider_message_id != provider_message_id:
                return False
        else:
            self.attempts += 1
        self._give_up_channel(reason, now)
        return True

    def give_up_uncertain(self, *, now: datetime) -> None:
        """No status came within the window: the channel is given up, never tried again, and
        the next channel of the route (if any) is tried.

        The trade-off: the person may get the message twice on two channels (if the first did
        go out), but never twice on one, and a message that did not go out still arrives.
        """
        self.attempts += 1
        self._give_up_channel(f"no delivery status after: {self.last_error}", now)

    def _give_up_channel(self, reason: str, now: datetime) -> None:
        self.last_error = reason
        self.tried += (ChannelTried(channel=self.channel, attempts=self.attempts, reason=reason),)
        if self.fallbacks:
            self._switch_to(self.fallbacks[0], now)
            self.fallbacks = self.fallbacks[1:]
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
                tried=list(self.tried),
            )
        )

    def _switch_to(self, leg: Leg, now: datetime) -> None:
        self.channel = leg.channel
        self.recipient = leg.recipient
        self.text = leg.text
        self.subject = leg.subject
        self.approved_template = leg.approved_template
        self.attempts = 0
        self.status = NotificationStatus.PENDING
        self.next_attempt_at = now


def retry_delay(
    attempts: int, *, retry_after: timedelta | None = None, draw: Draw = longest_wait
) -> timedelta:
    """Full jitter: a random share (`draw`) of 2 s, 4 s, 8 s … up to ten minutes; never less
    than what the provider asked for."""
    doubled: timedelta = FIRST_RETRY * 2 ** min(attempts - 1, 16)
    delay = min(doubled, LONGEST_RETRY) * min(max(draw(), 0.0), 1.0)
    return delay if retry_after is None else max(delay, retry_after)


def new_message(
    *,
    notification_id: str,
    about: str,
    route: tuple[Leg, ...],
    template: str,
    now: datetime,
    quiet_hours: QuietHours | None,
) -> Notification:
    """A pending message on the first channel of its route, due at once or, if it can wait,
    when quiet hours end."""
    first, *fallbacks = route
    notification = Notification(
        notification_id=notification_id,
        about=about,
        channel=first.channel,
        recipient=first.recipient,
        template=template,
        text=first.text,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        approved_template=first.approved_template,
        subject=first.subject,
        fallbacks=tuple(fallbacks),
    )
    notification.hold_for_quiet_hours(quiet_hours, now)
    return notification


def conversation_reply_message(
    event_id: str, reply: ConversationReply, *, now: datetime
) -> Notification:
    """Intake's answer in a citizen's chat, sent as it is on the channel they wrote on: the
    citizen wrote within the day, so WhatsApp takes free text.

    A WhatsApp reply goes on by SMS to the same number (`phone_fallback`) if WhatsApp does not
    take it, or cannot tell whether it did: an answer the citizen is waiting for must arrive, and
    a connection dropped mid-call is all it takes on a channel that does not dedupe. A fallback
    that cannot carry the whole text is left out."""
    channel = DeliveryChannel.of(reply.channel)
    route = tuple(
        Leg(channel=leg, recipient=reply.phone, text=reply.text)
        for leg in (channel, *phone_fallback(channel))
        if leg is channel or _carries(leg, reply.text)
    )
    return new_message(
        notification_id=f"{event_id}:reply",
        about=reply.reply_id,
        route=route,
        template="conversation_reply",
        now=now,
        quiet_hours=None,
    )


def _carries(channel: DeliveryChannel, text: str) -> bool:
    return channel is not DeliveryChannel.SMS or len(text) <= SMS_LONGEST
