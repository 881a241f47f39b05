"""Use cases of citizen sign-in: send a one-time code, exchange it for a token."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.intake.domain import sign_in
from services.intake.domain.sign_in import Check, CheckOutcome
from services.intake.service_layer.ports import CitizenTokens, SignInRepository
from services.intake.service_layer.submission import SOURCE
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models import NotificationChannel, SignInCodeRequested
from shared.polling import OutboxReady

CodeHasher = Callable[[str, str], str]
"""(challenge id, code) → a keyed hash of the code, so that codes are never stored."""


class WaitForCode(Exception):
    """The phone had a code too recently, too often, or is locked out."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class CodeSent:
    challenge_id: str
    expires_at: datetime


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
    *,
    phone: str,
    channel: NotificationChannel,
    repository: SignInRepository,
    hash_code: CodeHasher,
    outbox_ready: OutboxReady,
    now: datetime,
) -> CodeSent:
    """Makes a new code for `phone` and queues it for notify, unless the phone must wait.

    Two concurrent requests for one phone cannot both send: the second finds the first's
    challenge changed and is told to wait.
    """
    current, version = await repository.current(phone)
    if (wait := sign_in.wait_before_new_code(current, now)) is not None:
        raise WaitForCode(wait)
    challenge_id = str(uuid.uuid4())
    code = sign_in.new_code()
    challenge = sign_in.issue(
        current, challenge_id=challenge_id, code_hash=hash_code(challenge_id, code), now=now
    )
    event = SignInCodeRequested(
        actor=Actor(kind=ActorKind.CITIZEN, id="anonymous", channel=Channel.API),
        challenge_id=challenge_id,
        phone=phone,
        channel=channel,
        code=code,
        expires_at=challenge.expires_at,
    )
    outbox = [CloudEvent.wrap(event, source=SOURCE, time=now)]
    if not await repository.replace(phone, challenge, version=version, outbox=outbox):
        raise WaitForCode(int(sign_in.RESEND_AFTER.total_seconds()))
    outbox_ready(repository.document_id(phone), outbox)
    return CodeSent(challenge_id=challenge_id, expires_at=challenge.expires_at)


async def verify_code(
    *,
    phone: str,
    code: str,
    repository: SignInRepository,
    hash_code: CodeHasher,
    tokens: CitizenTokens,
    now: datetime,
) -> SignedIn:
    """A token for the phone if `code` is its current code; each code works once.

    Every wrong code is counted before the answer goes out, and of two concurrent attempts with
    the right code only one gets a token.
    """
    while True:
        challenge, version = await repository.current(phone)
        matches = challenge is not None and hmac.compare_digest(
            challenge.code_hash, hash_code(challenge.challenge_id, code)
        )
        result = sign_in.check(challenge, matches=matches, now=now)
        if result.challenge is not None and not await repository.replace(
            phone, result.challenge, version=version
        ):
            continue
        if result.outcome is not CheckOutcome.ACCEPTED:
            raise CodeRefused(result)
        token, lifetime_s = tokens.issue(phone=phone, now=now)
        return SignedIn(token=token, expires_in_s=lifetime_s)
