"""Every request within its engine-operation budget, polling included.

A fixed workload goes through a backend of its own (its own engines, so no other test's work or
data is counted): 100 requests submitted at the counter with their two documents, each then taken
by an officer with claim-next. What each service sent the engine (its own `/metrics`) is divided
by the requests: the background work (consumers, outbox relays, timers, followers: everything but
the HTTP calls) against each service's budget, and the HTTP calls against theirs; and the Kafka
broker's write calls beyond its idle ones. It counts, it never times (only the broker's idle
writes are taken out for as long as the workload took), so it holds on a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from devstack.engine_stats import broker_writes, rows_read, sequential_scans
from devstack.operations import Operations, breakdown, difference, operations
from devstack.stack import SERVICES, Stack
from tests.e2e.operation_counts import VERIFIERS, Office, backend_of_its_own, in_parallel, settled

REQUESTS = 100
BUDGETS = {"intake": 3.0, "processing": 6.0, "notify": 5.5, "audit": 4.0}
"""Engine operations of each service's background work per request. Notify's goal is 5; it
spends about 4.9, and how many of its outbox clears share a command varies from run to run."""
TOTAL_BUDGET = 18.0
HTTP_BUDGETS = {"intake": 8.5, "processing": 7.5}
"""Engine operations of the HTTP calls per request: at intake a submission (2: the NIK's open
application, the request with its tracking number) and two documents (3 each), with room for a
write conflict retried; at processing claim-next (about 7)."""
IDLE_BUDGET_PER_S = 20.0
BROKER_WRITES_BUDGET = 40.0
"""Write calls of the Kafka broker per request beyond those it makes idle for as long: one per
TLS record it sends, and every fetch answer carries each partition the consumer reads in records
of their own, so this counts fetches that did not wait to gather events. About 15; consumers
that fetched at every event made 153."""
IDLE_BROKER_WRITES_PER_S = 500.0
"""About 400: each consumer's fetch waits for events and is answered empty when its wait ends,
notify's every 0.1 s, the others' every 0.5 s."""
BROKER_IDLE_S = 5.0
IDLE_S = 10.0


@pytest.fixture(scope="module")
def own_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with backend_of_its_own(tmp_path_factory.mktemp("budget")) as stack:
        yield stack


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


async def test_a_request_stays_within_every_services_operation_budget(
    own_backend: Stack, client: httpx.AsyncClient
) -> None:
    office = Office(own_backend, client)
    await settled(client, own_backend)
    idle_writes = await broker_writes_per_second(own_backend, BROKER_IDLE_S)
    before = await operations(client, own_backend)
    rows_before, scans_before = rows_read(own_backend), sequential_scans(own_backend)
    writes_before, started = broker_writes(own_backend), time.monotonic()

    submitted = await in_parallel(REQUESTS, 10, office.submit_with_documents)
    await settled(client, own_backend)
    claimed = await in_parallel(REQUESTS, VERIFIERS, office.claim_next)
    await settled(client, own_backend)

    spent = difference(await operations(client, own_backend), before)
    rows = (rows_read(own_backend) - rows_before) / REQUESTS
    scans = sequential_scans(own_backend) - scans_before
    elapsed = time.monotonic() - started
    writes = broker_writes(own_backend) - writes_before
    beyond_idle = (writes - idle_writes * elapsed) / REQUESTS
    assert sorted(claimed) == sorted(submitted)
    background = {s: _per_request(spent[s], http=False) for s in SERVICES}
    calls = {s: _per_request(spent[s], http=True) for s in SERVICES}
    report = "\n".join(
        f"{s}: background {background[s]:.2f} per request (budget {BUDGETS[s]:g}), "
        f"HTTP {calls[s]:.2f} (budget {HTTP_BUDGETS.get(s, 0):g})\n" + breakdown(spent[s], REQUESTS)
        for s in SERVICES
    )
    report += f"\nPostgreSQL rows read per request: {rows:.0f}; sequential scans: {dict(scans)}"
    report += (
        f"\nKafka broker write calls: {writes / REQUESTS:.0f} per request in {elapsed:.1f} s,"
        f" {beyond_idle:.0f} beyond its idle {idle_writes:.0f}/s"
    )
    print(report)
    over = [s for s in SERVICES if background[s] > BUDGETS[s]]
    over += [f"{s} HTTP" for s in SERVICES if calls[s] > HTTP_BUDGETS.get(s, 0)]
    assert not over, f"over budget: {over}\n{report}"
    assert sum(background.values()) <= TOTAL_BUDGET, report
    assert beyond_idle <= BROKER_WRITES_BUDGET, report


async def broker_writes_per_second(stack: Stack, seconds: float) -> float:
    before = broker_writes(stack)
    await asyncio.sleep(seconds)
    return (broker_writes(stack) - before) / seconds


def _per_request(counts: Operations, *, http: bool) -> float:
    return sum(n for (activity, _), n in counts.items() if (activity == "http") is http) / REQUESTS


async def test_an_idle_backend_sends_few_operations(
    own_backend: Stack, client: httpx.AsyncClient
) -> None:
    await settled(client, own_backend)
    before = await operations(client, own_backend)
    writes_per_second = await broker_writes_per_second(own_backend, IDLE_S)
    spent = difference(await operations(client, own_backend), before)

    per_second = sum(counts.total() for counts in spent.values()) / IDLE_S
    report = "\n".join(
        f"{service}:\n" + breakdown(spent[service], int(IDLE_S)) for service in SERVICES
    )
    report += f"\nKafka broker write calls: {writes_per_second:.0f}/s"
    print(report)
    assert per_second <= IDLE_BUDGET_PER_S, f"{per_second:.1f} operations/s idle\n{report}"
    assert writes_per_second <= IDLE_BROKER_WRITES_PER_S, report
