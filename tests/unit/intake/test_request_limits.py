"""Request limits: counted where every instance sees them, by address (an IPv6 client by its
/64, behind a trusted proxy by the forwarded address), staff by person, and a tracking number
locked after too many wrong NIK endings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.intake.bootstrap import create_app
from services.intake.config import IntakeSettings
from shared.access import RequestLimits
from shared.config import load_settings
from shared.errors import InvalidConfiguration
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0, nik
from tests.fake_intake import FakeIntake
from tests.fakes import FakeClock, FakeCounts, FakeRequestRepository
from tests.unit.intake.test_intake_api import FORM

LOOKUP = {"tracking_number": "ABCDEFGH", "nik_last4": "0001"}


@dataclass
class Instances:
    """Several instances of intake on fakes, sharing one store of counts and one clock."""

    apps: list[FastAPI]
    fakes: list[FakeIntake]
    stack: AsyncExitStack
    counts: FakeCounts
    clock: FakeClock
    clients: dict[tuple[int, str], httpx.AsyncClient] = field(default_factory=dict)

    async def client(self, address: str, instance: int = 0) -> httpx.AsyncClient:
        """Calls `instance` from `address`."""
        if (instance, address) not in self.clients:
            transport = httpx.ASGITransport(app=self.apps[instance], client=(address, 50000))
            self.clients[instance, address] = await self.stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://intake.test")
            )
        return self.clients[instance, address]

    async def post(
        self, path: str, address: str = "203.0.113.9", instance: int = 0, **request: Any
    ) -> httpx.Response:
        return await (await self.client(address, instance)).post(path, **request)


@asynccontextmanager
async def running(count: int = 1, **settings: Any) -> AsyncIterator[Instances]:
    counts, clock, requests = FakeCounts(), FakeClock(T0), FakeRequestRepository()
    intake_settings = IntakeSettings.model_validate({"wrong_lookups_per_hour": 1000, **settings})
    fakes = [
        FakeIntake(
            counts=counts,
            clock=clock,
            requests=requests,
            wrong_lookups_per_hour=intake_settings.wrong_lookups_per_hour,
        )
        for _ in range(count)
    ]
    apps = [
        create_app(intake_settings, wiring=_wiring(fake), staff_keys=STAFF_KEYS) for fake in fakes
    ]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield Instances(apps=apps, fakes=fakes, stack=stack, counts=counts, clock=clock)


def _wiring(fake: FakeIntake) -> Any:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        fake.install(app)
        yield {}

    return wiring


async def test_every_instance_counts_a_clients_calls_in_one_place() -> None:
    async with running(3, lookups_per_minute=4) as intake:
        answers = [
            (await intake.post("/v1/lookup", instance=n % 3, json=LOOKUP)).status_code
            for n in range(6)
        ]

    assert answers == [404, 404, 404, 404, 429, 429]


async def test_ipv6_clients_are_limited_by_their_64_and_ipv4_clients_by_address() -> None:
    async with running(lookups_per_minute=2) as intake:
        rotating = [
            (await intake.post("/v1/lookup", f"2001:db8:1:2::{n:x}", json=LOOKUP)).status_code
            for n in range(1, 4)
        ]
        next_network = await intake.post("/v1/lookup", "2001:db8:1:3::1", json=LOOKUP)
        neighbours = [
            (await intake.post("/v1/lookup", f"198.51.100.{n}", json=LOOKUP)).status_code
            for n in range(1, 4)
        ]

    assert rotating == [404, 404, 429]
    assert next_network.status_code == 404
    assert neighbours == [404, 404, 404]


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() -> None:
    async with running(lookups_per_minute=1, trusted_proxies="10.0.0.0/24") as intake:

        async def via(peer: str, forwarded: str) -> int:
            response = await intake.post(
                "/v1/lookup", peer, json=LOOKUP, headers={"X-Forwarded-For": forwarded}
            )
            return response.status_code

        citizens = [await via("10.0.0.2", f"198.51.100.{n}, 10.0.0.3") for n in (1, 2, 1)]
        spoofed = [await via("203.0.113.9", f"198.51.100.{n}") for n in (3, 4)]

    assert citizens == [404, 404, 429]
    assert spoofed == [404, 429]


async def test_staff_are_limited_per_person_not_by_their_offices_address() -> None:
    async with running(submissions_per_minute=2, staff_calls_per_minute=3) as intake:
        niks = (nik(n) for n in range(1, 100))

        async def submit(headers: dict[str, str] | None = None) -> int:
            form = FORM | {"nik": next(niks)}
            response = await intake.post("/v1/requests", "192.0.2.10", json=form, headers=headers)
            return response.status_code

        first = bearer("counter_officer", sub="officer-1", service_point="MPP_1")
        second = bearer("counter_officer", sub="officer-2", service_point="MPP_1")
        by_first = [await submit(first) for _ in range(4)]
        by_second = [await submit(second) for _ in range(3)]
        walk_ins = [await submit() for _ in range(3)]

    assert by_first == [202, 202, 202, 429]
    assert by_second == [202, 202, 202]
    assert walk_ins == [202, 202, 429]


async def test_a_lease_serves_a_tenth_of_the_limit_with_one_command_and_no_more_than_it() -> None:
    counts = FakeCounts()
    one, other = RequestLimits({"submissions": 30}), RequestLimits({"submissions": 30})

    answers = [
        await (one if n % 2 else other).retry_after("submissions", "a", counts=counts, now=T0)
        for n in range(40)
    ]
    commands = counts.commands
    await one.retry_after("submissions", "a", counts=counts, now=T0)
    await other.retry_after("submissions", "a", counts=counts, now=T0)

    assert answers.count(None) == 30
    assert answers[30:] == [60] * 10
    assert commands == 12
    assert counts.commands == commands
    assert (
        await one.retry_after("submissions", "a", counts=counts, now=T0 + timedelta(minutes=1))
        is None
    )


async def test_a_tracking_number_tried_with_wrong_digits_is_locked_for_everyone_that_hour() -> None:
    async with running(2, lookups_per_minute=100, wrong_lookups_per_hour=3) as intake:
        submitted = (await intake.post("/v1/requests", json=FORM)).json()
        number = submitted["tracking_number"]
        right = {"tracking_number": number, "nik_last4": FORM["nik"][-4:]}
        wrong = [
            (
                await intake.post(
                    "/v1/lookup",
                    f"198.51.100.{n}",
                    instance=n % 2,
                    json={"tracking_number": number, "nik_last4": f"{5000 + n}"},
                )
            ).status_code
            for n in range(3)
        ]
        locked = await intake.post("/v1/lookup", "192.0.2.77", json=right)
        intake.clock.advance(timedelta(minutes=30))
        found = await intake.post("/v1/lookup", "192.0.2.77", json=right)

    assert wrong == [404, 404, 404]
    assert locked.status_code == 429
    assert locked.json()["error"] == "locked"
    assert locked.headers["Retry-After"] == "1800"
    assert found.status_code == 200


def test_trusted_proxies_must_be_addresses_or_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENVIRONMENT", "development")
    monkeypatch.setenv("INTAKE_TRUSTED_PROXIES", "10.0.0.2, proxy.internal")

    with pytest.raises(InvalidConfiguration, match="INTAKE_TRUSTED_PROXIES"):
        load_settings(IntakeSettings)
