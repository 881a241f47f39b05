"""What every store of sign-in challenges must do, fake or MongoDB.

The class is abstract: a subclass named `Test…` provides a function-scoped fixture holding an
empty store (`sign_ins`).
"""

from __future__ import annotations

from datetime import timedelta

from services.intake.domain import sign_in
from services.intake.domain.sign_in import SignInChallenge
from services.intake.service_layer.ports import SignInRepository
from tests.builders import T0

PHONE = "+6281234567890"


def locked_out() -> SignInChallenge:
    """A phone five wrong codes locked out and then sent a new code: what must survive a write."""
    current = sign_in.issue(None, challenge_id="c1", code_hash="h1", now=T0)
    for _ in range(5):
        result = sign_in.check(current, matches=False, now=T0)
        assert result.challenge is not None
        current = result.challenge
    return sign_in.issue(current, challenge_id="c2", code_hash="h2", now=T0 + timedelta(minutes=2))


class SignInRepositoryContract:
    async def test_a_stored_challenge_reads_back_with_its_wrong_codes_and_lockout(
        self, sign_ins: SignInRepository
    ) -> None:
        challenge = locked_out()
        assert await sign_ins.replace(PHONE, challenge, version=-1)

        stored, version = await sign_ins.current(PHONE)

        assert stored is not None
        assert stored == challenge
        assert stored.wrong_codes == 5
        assert stored.locked_until == T0 + timedelta(minutes=15)
        assert version >= 0

    async def test_a_replace_at_a_stale_version_changes_nothing(
        self, sign_ins: SignInRepository
    ) -> None:
        first = sign_in.issue(None, challenge_id="c1", code_hash="h1", now=T0)
        assert await sign_ins.replace(PHONE, first, version=-1)
        _, version = await sign_ins.current(PHONE)
        assert await sign_ins.replace(PHONE, locked_out(), version=version)

        assert not await sign_ins.replace(PHONE, first, version=version)
        assert not await sign_ins.replace(PHONE, first, version=-1)
        stored, _ = await sign_ins.current(PHONE)
        assert stored == locked_out()
