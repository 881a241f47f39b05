"""Use cases of citizen sign-in: send a one-time code, exchange it for a token, and end a
lockout when the owner sends the code back from the phone."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Protocol

from services.intake.domain import sign_in
from services.intake.domain.sign_in import Check, CheckOutcome, SignInChallenge, SignInRules
from services.intake.service_layer.ports import CitizenTokens, SignInRepository
from services.intake.service_layer.submission import SOURCE
from shared.counts import Counts
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.values import NotificationChannel

CodeHasher = Callable[[str, str], str]
"""(challenge id, code) → a keyed hash of the code, so that codes are never stored."""

CODE_MESSAGES = "sign_in_codes"
OFFICE = "office"
"""Whom the office-wide count of the codes sent each minute is kept for."""


@dataclass(frozen=True)
class SignInContext:
    """What the sign-in use cases need, put together by bootstrap."""

    repository: SignInRepository
    hash_code: CodeHasher
    counts: Counts
    rules: SignInRules


class WaitReason(StrEnum):
    PHONE = "PHONE"
    """This phone had a code too recently or too often."""
    OFFICE = "OFFICE"
    """The office sent as many codes this minute as it may, to all phones together."""


class WaitForCode(Refusal):
    """No code is sent now; `retry_after_s` says when one may be."""

    def __init__(self, retry_after_s: int, reason: WaitReason = WaitReason.PHONE) -> None:
        if reason is WaitReason.OFFICE:
            code, why = "codes_busy", "Terlalu banyak kode masuk dikirim saat ini."
        else:
            code = "try_later"
            why = "Kode untuk nomor ini sudah dikirim baru-baru ini atau terlalu sering."
        message = f"{why} Silakan coba lagi dalam {retry_after_s} detik."
        super().__init__(code, message, Kind.LIMITED, retry_after_s=retry_after_s)
        self.reason = reason


@dataclass(frozen=True)
class CodeSent:
    challenge_id: str
    expires_at: datetime
    locked_until: datetime | None
    """Set while the phone is locked out: the code then serves only to prove the phone."""


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_in_s: int


class CodeRefused(Exception):
    """A wrong, expired or used code, or a locked-out phone."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.outcome.value)
        self.check = check


async def send_code(
    *, phone: str, channel: NotificationChannel, context: SignInContext, now: datetime
) -> CodeSent:
    """Makes a new code for `phone` and queues it for notify, unless the phone or the office
    must wait.

    Two concurrent requests for one phone cannot both send: the second finds the first's
    challenge changed and is told to wait. The office's count is taken only for a phone that may
    have a code, so one phone's refused requests use none of it.
    """
    repository, rules = context.repository, context.rules
    current, version = await repository.current(phone)
    if (wait := sign_in.wait_before_new_code(current, now, rules=rules)) is not None:
        raise WaitForCode(wait)
    sent = await context.counts.add(CODE_MESSAGES, OFFICE, now=now)
    if (wait := sign_in.office_wait(sent, now, rules=rules)) is not None:
        raise WaitForCode(wait, WaitReason.OFFICE)
    challenge_id = str(uuid.uuid4())
    code = sign_in.new_code()
    challenge = sign_in.issue(
        current,
        challenge_id=challenge_id,
        code_hash=context.hash_code(challenge_id, code),
        now=now,
    )
    event = SignInCodeRequested(
        actor=Actor(kind=ActorKind.CITIZEN, id="anonymous", channel=Channel.API),
        challenge_id=challenge_id,
        phone=phone,
        channel=channel,
        code=code,
        expires_at=challenge.expires_at,
    )
    if not await repository.outgoing.commit(
        repository.document_id(phone),
        [event],
        partial(repository.replace, phone, challenge, version=version),
        source=SOURCE,
        time=now,
    ):
        raise WaitForCode(int(rules.resend_after.total_seconds()))
    locked = challenge.locked_until is not None and challenge.locked_until > now
    return CodeSent(
        challenge_id=challenge_id,
        expires_at=challenge.expires_at,
        locked_until=challenge.locked_until if locked else None,
    )


async def verify_code(
    *, phone: str, code: str, context: SignInContext, tokens: CitizenTokens, now: datetime
) -> SignedIn:
    """A token for the phone if `code` is its current code; each code works once.

    Every wrong code is counted before the answer goes out, and of two concurrent attempts with
    the right code only one gets a token.
    """
    result = await _judge(phone, code, context, sign_in.check, now=now)
    if result.outcome is not CheckOutcome.ACCEPTED:
        raise CodeRefused(result)
    token, lifetime_s = tokens.issue(phone=phone, now=now)
    return SignedIn(token=token, expires_in_s=lifetime_s)


async def prove_phone(*, phone: str, code: str, context: SignInContext, now: datetime) -> Check:
    """Judges a code the phone sent back by SMS or WhatsApp: the right one ends its lockout.

    `phone` must be the sender as the provider's signed delivery names it, never a number the
    message itself gives.
    """
    return await _judge(phone, code, context, sign_in.prove, now=now)


class _Judge(Protocol):
    def __call__(
        self,
        challenge: SignInChallenge | None,
        *,
        matches: bool,
        now: datetime,
        rules: SignInRules,
    ) -> Check: ...


async def _judge(
    phone: str, code: str, context: SignInContext, judge: _Judge, *, now: datetime
) -> Check:
    """Applies `judge` to the phone's current challenge and stores its verdict, again on the
    challenge as it is now if another attempt changed it meanwhile."""
    while True:
        challenge, version = await context.repository.current(phone)
        result = judge(
            challenge, matches=_matches(challenge, code, context), now=now, rules=context.rules
        )
        if result.challenge is None or await context.repository.replace(
            phone, result.challenge, version=version
        ):
            return result


def _matches(challenge: SignInChallenge | None, code: str, context: SignInContext) -> bool:
    return challenge is not None and hmac.compare_digest(
        challenge.code_hash, context.hash_code(challenge.challenge_id, code)
    )
