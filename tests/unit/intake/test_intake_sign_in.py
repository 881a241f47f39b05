"""Citizens' one-time-code sign-in: the rules, and the flow through intake's API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake.domain import sign_in
from services.intake.domain.sign_in import CheckOutcome, SignInChallenge
from services.intake.service_layer.sign_in import CODE_MESSAGES
from shared.events.models.identity import SignInCodeRequested
from tests.builders import T0
from tests.unit.intake.test_intake_api import FORM, Intake, answering, running_intake

PHONE = "+6281234567890"


def challenge(**changes: object) -> SignInChallenge:
    fresh = sign_in.issue(None, challenge_id="c1", code_hash="h", now=T0)
    return SignInChallenge(**{**fresh.__dict__, **changes})


def test_a_code_has_six_digits() -> None:
    codes = {sign_in.new_code() for _ in range(200)}

    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 150


def test_a_first_code_may_be_sent_at_once() -> None:
    assert sign_in.wait_before_new_code(None, T0) is None


def test_a_new_code_waits_a_minute_after_the_last() -> None:
    current = challenge()

    assert sign_in.wait_before_new_code(current, T0 + timedelta(seconds=20)) == 40
    assert sign_in.wait_before_new_code(current, T0 + timedelta(seconds=60)) is None


def test_a_phone_gets_at_most_five_codes_an_hour() -> None:
    current = None
    for minute in range(5):
        moment = T0 + timedelta(minutes=2 * minute)
        assert sign_in.wait_before_new_code(current, moment) is None
        current = sign_in.issue(current, challenge_id=f"c{minute}", code_hash="h", now=moment)

    assert sign_in.wait_before_new_code(current, T0 + timedelta(minutes=20)) == 40 * 60
    assert sign_in.wait_before_new_code(current, T0 + timedelta(minutes=60)) is None


def test_the_right_code_is_accepted_once() -> None:
    accepted = sign_in.check(challenge(), matches=True, now=T0 + timedelta(minutes=1))
    assert accepted.outcome is CheckOutcome.ACCEPTED
    assert accepted.challenge is not None

    again = sign_in.check(accepted.challenge, matches=True, now=T0 + timedelta(minutes=2))
    assert again.outcome is CheckOutcome.EXPIRED


def test_a_code_expires_after_five_minutes() -> None:
    late = sign_in.check(challenge(), matches=True, now=T0 + sign_in.CODE_LIFETIME)

    assert late.outcome is CheckOutcome.EXPIRED


def test_five_wrong_codes_lock_the_phone_out_for_fifteen_minutes() -> None:
    current = challenge()
    outcomes = []
    for _ in range(5):
        result = sign_in.check(current, matches=False, now=T0)
        outcomes.append((result.outcome, result.attempts_left))
        assert result.challenge is not None
        current = result.challenge

    assert outcomes[:4] == [(CheckOutcome.WRONG, left) for left in (4, 3, 2, 1)]
    assert outcomes[4][0] is CheckOutcome.LOCKED
    right_but_locked = sign_in.check(current, matches=True, now=T0 + timedelta(minutes=1))
    assert right_but_locked.outcome is CheckOutcome.LOCKED
    assert right_but_locked.retry_after_s == 14 * 60
    assert right_but_locked.challenge is None


def wrong_codes(current: SignInChallenge, count: int, now: datetime) -> SignInChallenge:
    for _ in range(count):
        result = sign_in.check(current, matches=False, now=now)
        assert result.challenge is not None
        current = result.challenge
    return current


def test_wrong_codes_add_up_across_new_codes() -> None:
    current = wrong_codes(challenge(), 4, T0)
    later = T0 + timedelta(minutes=2)
    assert sign_in.wait_before_new_code(current, later) is None
    fresh = sign_in.issue(current, challenge_id="c2", code_hash="h2", now=later)

    fifth = sign_in.check(fresh, matches=False, now=later)

    assert fifth.outcome is CheckOutcome.LOCKED
    assert fifth.retry_after_s == 15 * 60


def test_a_new_code_does_not_end_a_lockout() -> None:
    locked = wrong_codes(challenge(), 5, T0)
    later = T0 + timedelta(minutes=2)
    fresh = sign_in.issue(locked, challenge_id="c2", code_hash="h2", now=later)

    right = sign_in.check(fresh, matches=True, now=later)

    assert right.outcome is CheckOutcome.LOCKED
    assert right.retry_after_s == 13 * 60


def test_each_lockout_lasts_twice_the_one_before_up_to_a_day() -> None:
    current, now = challenge(), T0
    lockouts = []
    for n in range(9):
        current = sign_in.issue(current, challenge_id=f"c{n}", code_hash="h", now=now)
        current = wrong_codes(current, 4, now)
        result = sign_in.check(current, matches=False, now=now)
        assert result.outcome is CheckOutcome.LOCKED
        assert result.challenge is not None
        lockouts.append(result.retry_after_s // 60)
        current, now = result.challenge, now + timedelta(seconds=result.retry_after_s)

    assert lockouts == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]


def test_signing_in_forgives_the_wrong_codes() -> None:
    current = wrong_codes(challenge(), 4, T0)
    accepted = sign_in.check(current, matches=True, now=T0)
    assert accepted.outcome is CheckOutcome.ACCEPTED
    assert accepted.challenge is not None
    later = T0 + timedelta(minutes=2)
    fresh = sign_in.issue(accepted.challenge, challenge_id="c2", code_hash="h2", now=later)

    wrong = sign_in.check(fresh, matches=False, now=later)

    assert (wrong.outcome, wrong.attempts_left) == (CheckOutcome.WRONG, 4)


def test_a_phone_gets_at_most_ten_codes_a_day() -> None:
    current = None
    for n in range(10):
        moment = T0 + timedelta(minutes=13 * n)
        assert sign_in.wait_before_new_code(current, moment) is None
        current = sign_in.issue(current, challenge_id=f"c{n}", code_hash="h", now=moment)

    after_tenth = T0 + timedelta(hours=3)
    assert sign_in.wait_before_new_code(current, after_tenth) == 21 * 60 * 60
    assert sign_in.wait_before_new_code(current, T0 + timedelta(days=1)) is None


def test_the_office_sends_at_most_its_cap_of_codes_a_minute() -> None:
    rules = sign_in.SignInRules(codes_per_minute=60)
    moment = T0 + timedelta(seconds=20)

    assert sign_in.office_wait(60, moment, rules=rules) is None
    assert sign_in.office_wait(61, moment, rules=rules) == 40


def test_the_right_code_from_the_phone_ends_a_lockout_and_forgives_the_wrong_codes() -> None:
    locked = wrong_codes(challenge(), 5, T0)
    later = T0 + timedelta(minutes=2)
    assert sign_in.wait_before_new_code(locked, later) is None
    fresh = sign_in.issue(locked, challenge_id="c2", code_hash="h2", now=later)

    proof = sign_in.prove(fresh, matches=True, now=later)

    assert proof.outcome is CheckOutcome.ACCEPTED
    assert proof.challenge is not None
    assert proof.challenge.locked_until is None
    assert proof.challenge.wrong_codes == 0
    assert sign_in.check(proof.challenge, matches=True, now=later).outcome is CheckOutcome.EXPIRED
    again = sign_in.issue(
        proof.challenge, challenge_id="c3", code_hash="h3", now=later + timedelta(minutes=1)
    )
    signed_in = sign_in.check(again, matches=True, now=later + timedelta(minutes=1))
    assert signed_in.outcome is CheckOutcome.ACCEPTED


def test_a_wrong_code_from_the_phone_is_spent_and_counted() -> None:
    locked = wrong_codes(challenge(), 5, T0)
    fresh = sign_in.issue(locked, challenge_id="c2", code_hash="h2", now=T0 + timedelta(minutes=2))

    wrong = sign_in.prove(fresh, matches=False, now=T0 + timedelta(minutes=2))
    assert wrong.challenge is not None
    right_too_late = sign_in.prove(wrong.challenge, matches=True, now=T0 + timedelta(minutes=3))

    assert wrong.outcome is CheckOutcome.WRONG
    assert wrong.challenge.wrong_codes == 6
    assert wrong.challenge.locked_until == locked.locked_until
    assert right_too_late.outcome is CheckOutcome.EXPIRED


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    async with running_intake({"mongo": answering(True)}) as running:
        yield running


async def request_code(intake: Intake, phone: str = "0812-3456-7890") -> str:
    """Asks for a code and returns it as notify would send it."""
    response = await intake.client.post("/v1/auth/otp", json={"phone": phone, "channel": "SMS"})
    assert response.status_code == 202, response.text
    event = SignInCodeRequested.model_validate(intake.sign_ins.outbox[-1].data)
    assert event.phone == PHONE
    assert event.challenge_id == response.json()["challenge_id"]
    return event.code


async def verify(intake: Intake, code: str, phone: str = PHONE) -> tuple[int, dict[str, Any]]:
    response = await intake.client.post("/v1/auth/otp/verify", json={"phone": phone, "code": code})
    return response.status_code, response.json() | dict(response.headers)


async def test_a_code_signs_the_citizen_in_and_the_token_shows_their_requests(
    intake: Intake,
) -> None:
    intake.clock.current = datetime.now(UTC)
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    code = await request_code(intake)

    status, body = await verify(intake, code)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    found = await intake.client.get(f"/v1/requests/{submitted['request_id']}", headers=headers)

    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert found.status_code == 200


async def test_the_code_goes_out_through_the_phones_outbox(intake: Intake) -> None:
    await request_code(intake)

    assert intake.sign_in_outbox_ready.keys == [intake.sign_ins.document_id(PHONE)]
    assert [event.type for event in intake.sign_in_outbox_ready.events] == [
        SignInCodeRequested.event_type
    ]


async def test_a_code_works_once(intake: Intake) -> None:
    code = await request_code(intake)

    first, _ = await verify(intake, code)
    second, body = await verify(intake, code)

    assert (first, second) == (200, 400)
    assert body["error"] == "expired_code"


async def test_a_wrong_code_says_how_many_tries_are_left(intake: Intake) -> None:
    code = await request_code(intake)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    status, body = await verify(intake, wrong)

    assert status == 400
    assert body["error"] == "invalid_code"
    assert "4" in body["message"]


async def test_five_wrong_codes_lock_out_even_the_right_one(intake: Intake) -> None:
    code = await request_code(intake)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    statuses = [(await verify(intake, wrong))[0] for _ in range(5)]
    status, body = await verify(intake, code)

    assert statuses == [400, 400, 400, 400, 429]
    assert status == 429
    assert body["error"] == "locked_out"
    assert "MASUK <kode>" in body["message"]
    assert int(body["retry-after"]) == 15 * 60


async def test_wrong_codes_across_new_codes_lock_the_phone_out(intake: Intake) -> None:
    first = await request_code(intake)
    for _ in range(4):
        assert (await verify(intake, f"{(int(first) + 1) % 10**6:06d}"))[0] == 400
    intake.clock.advance(timedelta(minutes=1))
    second = await request_code(intake)

    status, body = await verify(intake, f"{(int(second) + 1) % 10**6:06d}")
    right, _ = await verify(intake, second)

    assert status == 429
    assert body["error"] == "locked_out"
    assert right == 429


async def test_a_locked_phone_is_still_sent_a_code_and_told_it_is_locked(intake: Intake) -> None:
    code = await request_code(intake)
    for _ in range(5):
        await verify(intake, f"{(int(code) + 1) % 10**6:06d}")
    intake.clock.advance(timedelta(minutes=1))

    again = await intake.client.post("/v1/auth/otp", json={"phone": PHONE, "channel": "SMS"})

    assert again.status_code == 202
    assert again.json()["locked_until"] == "2025-03-03T01:45:00Z"


async def test_the_office_sends_no_more_codes_a_minute_than_its_cap() -> None:
    async with running_intake({"mongo": answering(True)}, sign_in_codes_per_minute=2) as intake:
        intake.clock.advance(timedelta(seconds=15))
        answers = [
            await intake.client.post(
                "/v1/auth/otp", json={"phone": f"08123456780{n}", "channel": "SMS"}
            )
            for n in range(3)
        ]
        intake.clock.advance(timedelta(seconds=45))
        next_minute = await intake.client.post(
            "/v1/auth/otp", json={"phone": "081234567803", "channel": "SMS"}
        )

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert answers[2].json()["error"] == "codes_busy"
    assert answers[2].headers["Retry-After"] == "45"
    assert len(intake.sign_ins.outbox) == 3
    assert next_minute.status_code == 202


async def test_a_phone_told_to_wait_uses_none_of_the_offices_codes(intake: Intake) -> None:
    await request_code(intake)

    for _ in range(3):
        await intake.client.post("/v1/auth/otp", json={"phone": PHONE, "channel": "SMS"})

    sent = [n for (name, _, _), n in intake.counts.counts.items() if name == CODE_MESSAGES]
    assert sent == [1]


async def test_a_second_code_within_a_minute_is_a_429_with_retry_after(intake: Intake) -> None:
    await request_code(intake)

    again = await intake.client.post("/v1/auth/otp", json={"phone": PHONE, "channel": "SMS"})

    assert again.status_code == 429
    assert again.json()["error"] == "try_later"
    assert again.headers["Retry-After"] == "60"
    assert len(intake.sign_ins.outbox) == 1


async def test_a_code_for_a_phone_that_never_asked_is_refused(intake: Intake) -> None:
    status, body = await verify(intake, "123456")

    assert status == 400
    assert body["error"] == "expired_code"


@pytest.mark.parametrize(
    "body",
    [
        {"phone": "021345678", "channel": "SMS"},
        {"phone": PHONE, "channel": "EMAIL"},
        {"phone": PHONE},
    ],
)
async def test_a_bad_code_request_is_a_422_and_sends_nothing(
    intake: Intake, body: dict[str, str]
) -> None:
    response = await intake.client.post("/v1/auth/otp", json=body)

    assert response.status_code == 422
    assert intake.sign_ins.outbox == []


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 345"])
async def test_a_malformed_code_is_a_422_and_counts_no_attempt(intake: Intake, code: str) -> None:
    await request_code(intake)

    status, _ = await verify(intake, code)
    stored, _ = await intake.sign_ins.current(PHONE)

    assert status == 422
    assert stored is not None
    assert stored.wrong_codes == 0


async def test_sign_in_calls_from_one_client_are_rate_limited() -> None:
    async with running_intake({"mongo": answering(True)}, sign_ins_per_minute=2) as intake:
        codes = [
            await intake.client.post(
                "/v1/auth/otp", json={"phone": f"08123456780{n}", "channel": "SMS"}
            )
            for n in range(3)
        ]

    assert [response.status_code for response in codes] == [202, 202, 429]
