"""Admits a message a stranger's form would trigger, or refuses it before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.citizen_request import Submitter
from services.intake.domain.message_caps import (
    DAY,
    CapReason,
    MessageCapReached,
    MessageCapRules,
    capped_phone,
    phone_wait,
)
from shared.counts import MINUTE, Counts, SharedAllowance, seconds_left

PHONE_MESSAGES = "messages"
MESSAGE_CAP_PURPOSE = "message-cap phone"
"""The lookup hash's purpose for the phones counted here: unrelated to any other index's."""
OFFICE_MESSAGES = "messages-office"


@dataclass
class MessageCaps:
    """The phone's daily count is one shared counter per phone, keyed by the phone's lookup hash
    (never the number); the office's count per minute is taken in blocks."""

    counts: Counts
    phone_key: Callable[[str], str]
    rules: MessageCapRules
    office: SharedAllowance

    @classmethod
    def of(
        cls, counts: Counts, phone_key: Callable[[str], str], rules: MessageCapRules
    ) -> MessageCaps:
        office = SharedAllowance(counts, OFFICE_MESSAGES, limit=rules.per_minute, window=MINUTE)
        return cls(counts=counts, phone_key=phone_key, rules=rules, office=office)

    async def admit(self, submitter: Submitter, phone: str | None, now: datetime) -> None:
        """Raises MessageCapReached if the form's phone or the office is over its cap."""
        capped = capped_phone(submitter, phone)
        if capped is None:
            return
        sent = await self.counts.add(PHONE_MESSAGES, self.phone_key(capped), now=now, window=DAY)
        if (wait := phone_wait(sent, now, rules=self.rules)) is not None:
            raise MessageCapReached(CapReason.PHONE, wait)
        if not await self.office.take(now):
            raise MessageCapReached(CapReason.OFFICE, seconds_left(now, MINUTE))
