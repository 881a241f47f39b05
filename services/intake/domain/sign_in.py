"""Citizens sign in with a one-time code sent to their phone: the rules, free of any I/O.

A code lives five minutes and is good for one sign-in. A phone gets a new code at most once a
minute, five times an hour and ten times a day, and the office sends at most so many codes a
minute across all phones, so it cannot be used to pump SMS.

Wrong codes count per phone, across its codes, until it signs in: a new code does not start the
count again. Every fifth wrong code locks the phone out, for 15 minutes the first time and twice
as long each time after, up to a day; while locked, no code signs in, so guessing gets a few tries
a day. A stranger can lock a citizen out this way, so the owner can end a lockout at once by
proving the phone: sending the current code back from it, by SMS or WhatsApp (`MASUK <kode>`).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class SignInRules:
    """How often codes go out, and how long wrong codes lock a phone out."""

    resend_after: timedelta = timedelta(minutes=1)
    codes_per_hour: int = 5
    codes_per_day: int = 10
    codes_per_minute: int = 60
    """Across all phones: what the office sends at most, whoever asks."""
    wrong_codes_per_lockout: int = 5
    first_lockout: timedelta = timedelta(minutes=15)
    longest_lockout: timedelta = timedelta(hours=24)

    def lockout(self, wrong_codes: int) -> timedelta:
        """How long the lockout lasts that the `wrong_codes`-th wrong code starts."""
        lockout = self.first_lockout
        for _ in range(wrong_codes // self.wrong_codes_per_lockout - 1):
            if lockout >= self.longest_lockout:
                break
            lockout *= 2
        return min(lockout, self.longest_lockout)


RULES = SignInRules()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


@dataclass(frozen=True)
class SignInChallenge:
    """The current code of one phone number, kept only as a keyed hash, and what the phone did
    before it."""

    challenge_id: str
    code_hash: str
    expires_at: datetime
    wrong_codes: int = 0
    """Since the phone last signed in or was proven, whichever code they were tried against."""
    used: bool = False
    locked_until: datetime | None = None
    sent_at: tuple[datetime, ...] = field(default_factory=tuple)
    """When the phone was sent a code, over the last day."""


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


def wait_before_new_code(
    current: SignInChallenge | None, now: datetime, *, rules: SignInRules = RULES
) -> int | None:
    """Seconds the phone must wait for another code, or None if one may be sent now.

    A locked-out phone may have codes too, within the same limits: the owner needs one to prove
    the phone and end the lockout.
    """
    if current is None:
        return None
    last_day = [moment for moment in current.sent_at if moment > now - DAY]
    last_hour = [moment for moment in last_day if moment > now - HOUR]
    waits = []
    if last_day and max(last_day) + rules.resend_after > now:
        waits.append(max(last_day) + rules.resend_after - now)
    if len(last_hour) >= rules.codes_per_hour:
        waits.append(sorted(last_hour)[-rules.codes_per_hour] + HOUR - now)
    if len(last_day) >= rules.codes_per_day:
        waits.append(sorted(last_day)[-rules.codes_per_day] + DAY - now)
    return _seconds(max(waits)) if waits else None


def office_wait(sent_this_minute: int, now: datetime, *, rules: SignInRules = RULES) -> int | None:
    """Seconds until the office may send codes again, when this minute's count (this code
    included) is over its cap; None otherwise."""
    if sent_this_minute <= rules.codes_per_minute:
        return None
    return _seconds(now.replace(second=0, microsecond=0) + MINUTE - now)


def issue(
    current: SignInChallenge | None,
    *,
    challenge_id: str,
    code_hash: str,
    now: datetime,
) -> SignInChallenge:
    """A fresh challenge replacing `current`; callers check `wait_before_new_code` first.

    The phone's wrong codes and lockout stay: a new code is no new start for a guesser.
    """
    if current is None:
        return SignInChallenge(
            challenge_id=challenge_id,
            code_hash=code_hash,
            expires_at=now + CODE_LIFETIME,
            sent_at=(now,),
        )
    return replace(
        current,
        challenge_id=challenge_id,
        code_hash=code_hash,
        expires_at=now + CODE_LIFETIME,
        used=False,
        sent_at=(*(moment for moment in current.sent_at if moment > now - DAY), now),
    )


def check(
    challenge: SignInChallenge | None,
    *,
    matches: bool,
    now: datetime,
    rules: SignInRules = RULES,
) -> Check:
    """Judges one attempt to sign in; `matches` says whether the code given hashes to the stored
    one. While the phone is locked out nothing is tried, so nothing is learnt."""
    if challenge is None:
        return Check(CheckOutcome.EXPIRED, None)
    if challenge.locked_until is not None and challenge.locked_until > now:
        return Check(
            CheckOutcome.LOCKED, None, retry_after_s=_seconds(challenge.locked_until - now)
        )
    if challenge.used or challenge.expires_at <= now:
        return Check(CheckOutcome.EXPIRED, None)
    if matches:
        return Check(CheckOutcome.ACCEPTED, _forgiven(challenge))
    return _wrong(challenge, now, rules, spent=False)


def prove(
    challenge: SignInChallenge | None,
    *,
    matches: bool,
    now: datetime,
    rules: SignInRules = RULES,
) -> Check:
    """Judges a code sent back from the phone itself, by SMS or WhatsApp, locked out or not.

    Only the owner sends from the phone and holds its codes, so the right code ends the lockout
    and forgives the wrong codes; it signs no one in and is spent. A wrong one is spent too and
    counts like any wrong code, so a forged sender gets one guess per code the phone was sent.
    """
    if challenge is None or challenge.used or challenge.expires_at <= now:
        return Check(CheckOutcome.EXPIRED, None)
    if matches:
        return Check(CheckOutcome.ACCEPTED, _forgiven(challenge))
    return _wrong(challenge, now, rules, spent=True)


def _forgiven(challenge: SignInChallenge) -> SignInChallenge:
    return replace(challenge, used=True, wrong_codes=0, locked_until=None)


def _wrong(challenge: SignInChallenge, now: datetime, rules: SignInRules, *, spent: bool) -> Check:
    wrong = challenge.wrong_codes + 1
    if wrong % rules.wrong_codes_per_lockout == 0:
        lockout = rules.lockout(wrong)
        locked = replace(challenge, wrong_codes=wrong, used=True, locked_until=now + lockout)
        return Check(CheckOutcome.LOCKED, locked, retry_after_s=_seconds(lockout))
    return Check(
        CheckOutcome.WRONG,
        replace(challenge, wrong_codes=wrong, used=challenge.used or spent),
        attempts_left=rules.wrong_codes_per_lockout - wrong % rules.wrong_codes_per_lockout,
    )


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
