"""Citizens sign in with a one-time code sent to their phone: the rules, free of any I/O.

A code lives five minutes and is good for one sign-in. A phone gets a new code at most once a
minute and five times an hour; five wrong codes lock it out for fifteen minutes, new codes
included, so guessing costs an attacker far more time than the code has to live.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
RESEND_AFTER = timedelta(minutes=1)
CODES_PER_HOUR = 5
MAX_WRONG_CODES = 5
LOCKOUT = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class SignInChallenge:
    """The current code of one phone number, kept only as a keyed hash."""

    challenge_id: str
    code_hash: str
    expires_at: datetime
    wrong_codes: int = 0
    used: bool = False
    locked_until: datetime | None = None
    sent_at: tuple[datetime, ...] = field(default_factory=tuple)


class CheckOutcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    WRONG = "WRONG"
    LOCKED = "LOCKED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class Check:
    outcome: CheckOutcome
    challenge: SignInChallenge | None
    """The challenge as it must be stored after this check; None when nothing changes."""
    retry_after_s: int = 0
    attempts_left: int = 0


def wait_before_new_code(current: SignInChallenge | None, now: datetime) -> int | None:
    """Seconds the phone must wait for another code, or None if one may be sent now."""
    if current is None:
        return None
    if current.locked_until is not None and current.locked_until > now:
        return _seconds(current.locked_until - now)
    recent = [moment for moment in current.sent_at if moment > now - HOUR]
    if recent and max(recent) + RESEND_AFTER > now:
        return _seconds(max(recent) + RESEND_AFTER - now)
    if len(recent) >= CODES_PER_HOUR:
        return _seconds(min(recent) + HOUR - now)
    return None


def issue(
    current: SignInChallenge | None, *, challenge_id: str, code_hash: str, now: datetime
) -> SignInChallenge:
    """A fresh challenge replacing `current`; callers check `wait_before_new_code` first."""
    history = () if current is None else current.sent_at
    return SignInChallenge(
        challenge_id=challenge_id,
        code_hash=code_hash,
        expires_at=now + CODE_LIFETIME,
        sent_at=(*(moment for moment in history if moment > now - HOUR), now),
    )


def check(challenge: SignInChallenge | None, *, matches: bool, now: datetime) -> Check:
    """Judges one attempt; `matches` says whether the code given hashes to the stored one."""
    if challenge is None:
        return Check(CheckOutcome.EXPIRED, None)
    if challenge.locked_until is not None and challenge.locked_until > now:
        return Check(
            CheckOutcome.LOCKED, None, retry_after_s=_seconds(challenge.locked_until - now)
        )
    if challenge.used or challenge.expires_at <= now:
        return Check(CheckOutcome.EXPIRED, None)
    if matches:
        return Check(CheckOutcome.ACCEPTED, replace(challenge, used=True))
    wrong = challenge.wrong_codes + 1
    if wrong >= MAX_WRONG_CODES:
        locked = replace(challenge, wrong_codes=wrong, used=True, locked_until=now + LOCKOUT)
        return Check(CheckOutcome.LOCKED, locked, retry_after_s=_seconds(LOCKOUT))
    return Check(
        CheckOutcome.WRONG,
        replace(challenge, wrong_codes=wrong),
        attempts_left=MAX_WRONG_CODES - wrong,
    )


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
