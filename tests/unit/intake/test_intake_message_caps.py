"""Caps on the messages a stranger's form makes the office send: the rules, the shared allowance
and the routes' answers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.intake.domain.callers import submitter
from services.intake.domain.citizen_request import Submitter
from services.intake.domain.message_caps import MessageCapRules, capped_phone, phone_wait
from shared.counts import MINUTE, SharedAllowance
from shared.identity import Principal, Role
from tests.auth import bearer
from tests.builders import T0, nik
from tests.fakes import FakeCounts
from tests.unit.intake.test_intake_api import FORM, answering, running_intake

PHONE = "+6281234567890"


def citizen(phone: str) -> Submitter:
    return submitter(Principal(subject="c", roles=frozenset({Role.CITIZEN}), phone_number=phone))


def test_a_form_from_a_caller_who_did_not_prove_its_phone_is_capped() -> None:
    assert capped_phone(submitter(None), "0812-3456-7890") == PHONE
    assert capped_phone(citizen("+6285700000001"), "081234567890") == PHONE


def test_a_citizens_own_phone_staff_and_forms_without_a_phone_are_not_capped() -> None:
    officer = Principal(
        subject="o", roles=frozenset({Role.COUNTER_OFFICER}), service_point="KANTOR_DINAS"
    )

    assert capped_phone(citizen(PHONE), "081234567890") is None
    assert capped_phone(submitter(officer), "081234567890") is None
    assert capped_phone(submitter(None), None) is None
    assert capped_phone(submitter(None), "not a phone") is None


def test_a_phone_over_its_daily_cap_waits_for_the_day_to_end() -> None:
    rules = MessageCapRules(per_phone_day=2)

    assert phone_wait(2, T0, rules=rules) is None
    wait = phone_wait(3, T0, rules=rules)
    assert wait is not None
    assert 1 <= wait <= 24 * 60 * 60


async def test_the_office_allowance_is_taken_in_blocks_and_shared_by_every_instance() -> None:
    counts = FakeCounts()
    first = SharedAllowance(counts, "messages-office", limit=25, block=10)
    second = SharedAllowance(counts, "messages-office", limit=25, block=10)

    granted = [await first.take(T0) for _ in range(15)]
    granted += [await second.take(T0) for _ in range(15)]
    granted += [await first.take(T0) for _ in range(15)]

    assert granted.count(True) == 25
    assert counts.commands == 4
    assert not await second.take(T0)
    assert counts.commands == 4, "a spent window is not asked again"
    assert await first.take(T0 + MINUTE)


async def test_one_instance_gets_the_whole_allowance_when_alone() -> None:
    counts = FakeCounts()
    alone = SharedAllowance(counts, "messages-office", limit=25, block=10, window=MINUTE)

    granted = [await alone.take(T0 + timedelta(seconds=n)) for n in range(30)]

    assert granted == [True] * 25 + [False] * 5
    assert counts.commands == 3


async def test_takes_arriving_together_share_one_reservation() -> None:
    counts = SlowCounts()
    alone = SharedAllowance(counts, "messages-office", limit=25, block=10, window=MINUTE)

    granted = await asyncio.gather(*(alone.take(T0) for _ in range(30)))

    assert granted.count(True) == 25
    assert counts.commands == 3


class SlowCounts(FakeCounts):
    """Answers after other tasks have run, as the database does."""

    async def add(
        self, name: str, key: str, *, now: datetime, window: timedelta = MINUTE, by: int = 1
    ) -> int:
        await asyncio.sleep(0.001)
        return await super().add(name, key, now=now, window=window, by=by)


async def test_a_phone_over_its_cap_gets_429_and_nothing_is_stored() -> None:
    async with running_intake({"mongo": answering(True)}, messages_per_phone_day=2) as intake:
        forms = [FORM | {"nik": nik(n)} for n in range(1, 5)]
        accepted = [await intake.client.post("/v1/requests", json=form) for form in forms[:2]]
        refused = await intake.client.post("/v1/requests", json=forms[2])
        own = await intake.client.post("/v1/requests", json=forms[2], headers=intake.citizen(PHONE))
        other = await intake.client.post("/v1/requests", json=forms[3] | {"phone": "081234567891"})
        stored = len(intake.repository.requests)

    assert [response.status_code for response in accepted] == [202, 202]
    assert refused.status_code == 429
    assert refused.json()["error"] == "phone_messages_capped"
    assert 1 <= int(refused.headers["Retry-After"]) <= 24 * 60 * 60
    assert own.status_code == 202, "signing in with the phone lifts the cap"
    assert other.status_code == 202
    assert stored == 4


async def test_a_counter_officer_is_not_held_to_the_phones_cap() -> None:
    officer = bearer("counter_officer", service_point="KANTOR_DINAS")
    async with running_intake({"mongo": answering(True)}, messages_per_phone_day=1) as intake:
        answers = [
            await intake.client.post("/v1/requests", json=FORM | {"nik": nik(n)}, headers=officer)
            for n in range(1, 4)
        ]

    assert [response.status_code for response in answers] == [202] * 3


async def test_the_office_cap_refuses_with_the_seconds_left_in_the_minute() -> None:
    async with running_intake({"mongo": answering(True)}, messages_per_minute=2) as intake:
        answers = [
            await intake.client.post(
                "/v1/requests", json=FORM | {"phone": f"08123456789{n}", "nik": nik(n + 1)}
            )
            for n in range(3)
        ]

    assert [response.status_code for response in answers] == [202, 202, 429]
    assert answers[2].json()["error"] == "messages_busy"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
