"""Caps on the messages a stranger can make the office send, so that intake cannot be used to
pump SMS or WhatsApp messages at someone else's phone.

Receipts of submissions, visit confirmations and complaint acknowledgements go to the phone the
form names. A caller who has not proved that phone (no token, or a citizen signed in with
another) counts against the phone's daily cap and the office's cap per minute; staff are known
and limited per person, and a citizen's own proved phone is theirs to fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from services.intake.domain.citizen_request import Submitter
from services.intake.domain.identity import InvalidIdentity, normalize_phone
from shared.counts import seconds_left
from shared.events.envelope import ActorKind

DAY: Final = timedelta(days=1)


@dataclass(frozen=True)
class MessageCapRules:
    per_phone_day: int = 10
    per_minute: int = 120


class CapReason(StrEnum):
    PHONE = "phone"
    OFFICE = "office"


class MessageCapReached(Exception):
    """The message would go over a cap: nothing was written, the caller may try again later."""

    def __init__(self, reason: CapReason, retry_after_s: int) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.retry_after_s = retry_after_s


def capped_phone(submitter: Submitter, phone: str | None) -> str | None:
    """The phone (E.164) whose messages this caller's form would trigger unproved, if any; None
    also for a number that is not one, which the form's own checks refuse."""
    if phone is None or submitter.actor.kind is not ActorKind.CITIZEN:
        return None
    try:
        number = normalize_phone(phone)
    except InvalidIdentity:
        return None
    return None if submitter.owner_phone == number else number


def phone_wait(sent_today: int, now: datetime, *, rules: MessageCapRules) -> int | None:
    """Seconds until the phone may be sent another such message, when today's count (this one
    included) is over the cap; None otherwise."""
    if sent_today <= rules.per_phone_day:
        return None
    return seconds_left(now, DAY)
