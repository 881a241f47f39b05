"""A fixed workload for counting engine operations: each citizen request submitted at the counter
with its documents, then taken by an officer; and a wait until the backend has handled every
event it caused."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.forms import load_form
from devstack.operations import events_handled
from devstack.stack import Ports, Stack
from tests.documents import PDF

VERIFIERS = 4


@contextmanager
def backend_of_its_own(folder: Path, **service_env: str) -> Iterator[Stack]:
    """Engines and services of their own, so that no other test's work or data is counted and an
    overload harms no other test; requests come from one address, at any hour."""
    stack = Stack(
        folder,
        Ports.free(),
        service_env={
            "NOTIFY_QUIET_HOURS": "false",
            "INTAKE_SUBMISSIONS_PER_MINUTE": "1000000",
            "INTAKE_MESSAGES_PER_PHONE_DAY": "1000000",
            "INTAKE_MESSAGES_PER_MINUTE": "1000000",
            **service_env,
        },
    )
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop()


async def settled(
    http: httpx.AsyncClient, stack: Stack, *, quiet_s: float = 3.0, within_s: float = 120.0
) -> None:
    """Waits until no service has taken an event for `quiet_s`: the workload's events are all
    handled, and what remains is the backend's own polling."""
    deadline = time.monotonic() + within_s
    last, quiet_since = await events_handled(http, stack), time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        if time.monotonic() > deadline:
            raise AssertionError(f"the backend did not settle within {within_s:.0f} s")
        await asyncio.sleep(0.5)
        now = await events_handled(http, stack)
        if now != last:
            last, quiet_since = now, time.monotonic()


@dataclass
class Office:
    """One service point of its own, with a counter officer and verifiers."""

    stack: Stack
    http: httpx.AsyncClient
    point: str = ""
    forms: Iterator[int] = field(default_factory=itertools.count)
    """Numbers of the forms submitted, so that each has a NIK of its own however many rounds
    a test serves (a NIK holds one open application per service)."""

    def __post_init__(self) -> None:
        self.point = self.point or f"MPP_{uuid.uuid4().hex[:8].upper()}"

    def officer(self, role: str, n: int = 0) -> dict[str, str]:
        token = self.stack.mint_token(role, service_point=self.point, subject=f"{role}-{n}")
        return {"Authorization": f"Bearer {token}"}

    async def submit_with_documents(self, n: int) -> str:
        """A form with its documents; `n` numbers the job, the form takes the next of `forms`."""
        counter = self.officer("counter_officer")
        intake = self.stack.service_url("intake")
        response = await self.http.post(
            f"{intake}/v1/requests",
            json={**load_form(next(self.forms)), "consent": True},
            headers=counter,
        )
        assert response.status_code == 202, response.text
        body = response.json()
        for requirement in body["missing_documents"]:
            uploaded = await self.http.post(
                f"{intake}/v1/requests/{body['request_id']}/documents",
                params={"requirement": requirement},
                content=PDF,
                headers={**counter, "Content-Type": "application/pdf"},
            )
            assert uploaded.status_code == 201, uploaded.text
        request_id: str = body["request_id"]
        return request_id

    async def claim_next(self, n: int) -> str:
        headers = self.officer("verifier", n % VERIFIERS)
        processing = self.stack.service_url("processing")
        claimed = await self.http.post(f"{processing}/v1/queues/claim-next", headers=headers)
        assert claimed.status_code == 200, claimed.text
        request_id: str = claimed.json()["request_id"]
        return request_id


async def in_parallel(count: int, lanes: int, job: Callable[[int], Awaitable[str]]) -> list[str]:
    """Runs `job(0..count-1)` on at most `lanes` at once."""
    numbers = iter(range(count))
    done: list[str] = []

    async def lane() -> None:
        for n in numbers:
            done.append(await job(n))

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return done
