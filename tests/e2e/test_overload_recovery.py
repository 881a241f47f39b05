"""A burst beyond what the backend can carry is refused at once, and the backend recovers by
itself: nothing wedged, nothing accepted lost, nothing sent twice.

Runs on a backend of its own (its own engines), since it overloads them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from devstack.engine_stats import connections
from devstack.forms import load_form
from devstack.stack import Stack
from shared.mongo import mongo_reachable, new_mongo_client
from tests.e2e.operation_counts import backend_of_its_own, settled
from tests.polling import eventually

BURST_RATE = 100
BURST_S = 30
RECOVERY_S = 15
NOTIFIED_WITHIN_S = 180
SETTLES_WITHIN_S = 300
"""Audit and the monthly report still work through the burst's events after every receipt."""
POOL_SHRINKS_WITHIN_S = 90
"""FerretDB closes a PostgreSQL connection free for a minute (`devstack/postgres.py`)."""
RECEIPT = re.compile(r"\b([A-Z0-9]{8})\b")


@pytest.fixture(scope="module")
def own_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with backend_of_its_own(
        tmp_path_factory.mktemp("overload"), NOTIFY_SMS_RATE_PER_S="1000"
    ) as stack:
        yield stack


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        yield http


async def engine_answers(stack: Stack) -> bool:
    mongo = new_mongo_client(stack.mongo_url)
    try:
        return await mongo_reachable(mongo["admin"], timeout_s=2.0)
    finally:
        await mongo.close()


async def submit(http: httpx.AsyncClient, stack: Stack, n: int) -> httpx.Response:
    return await http.post(f"{stack.service_url('intake')}/v1/requests", json=load_form(n))


async def burst(http: httpx.AsyncClient, stack: Stack) -> list[httpx.Response | BaseException]:
    """Submits at BURST_RATE for BURST_S whatever the answers (open loop)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for n in range(BURST_RATE * BURST_S):
        await asyncio.sleep(max(0.0, start + n / BURST_RATE - loop.time()))
        tasks.append(asyncio.create_task(submit(http, stack, n)))
    return await asyncio.gather(*tasks, return_exceptions=True)


async def receipts(http: httpx.AsyncClient, stack: Stack) -> Counter[str]:
    """SMS the message sink received, by the tracking number they quote."""
    response = await http.get(f"{stack.message_sink_url}/v1/received")
    response.raise_for_status()
    return Counter(
        number
        for message in response.json()
        if message["channel"] == "SMS"
        for number in RECEIPT.findall(message["text"])
    )


async def test_a_burst_is_refused_at_once_and_the_backend_recovers_by_itself(
    own_backend: Stack, client: httpx.AsyncClient
) -> None:
    idle_connections = connections(own_backend)

    answers = await burst(client, own_backend)
    ended = time.monotonic()

    responses = [answer for answer in answers if isinstance(answer, httpx.Response)]
    accepted = [a.json()["tracking_number"] for a in responses if a.status_code == 202]
    outcomes = Counter(_status(answer) for answer in answers)
    print(f"burst of {len(answers)}: {dict(outcomes)}")
    assert accepted, outcomes
    answered = {outcome for outcome in outcomes if isinstance(outcome, int)}
    assert answered <= {202, 503}, outcomes
    assert sum(outcomes[status] for status in answered) >= 0.95 * len(answers), outcomes
    assert all(int(a.headers["Retry-After"]) > 0 for a in responses if a.status_code == 503)

    def recovery_left() -> float:
        return max(ended + RECOVERY_S - time.monotonic(), 0.0)

    async def engine_back() -> bool:
        return await engine_answers(own_backend)

    await eventually(
        engine_back, what="the engine answering again", timeout_s=recovery_left(), interval_s=0.5
    )

    async def accepted_in_time() -> httpx.Response | None:
        started = time.monotonic()
        after = await submit(client, own_backend, -1)
        return after if after.status_code == 202 and time.monotonic() - started < 2 else None

    after = await eventually(
        accepted_in_time,
        what="a request accepted in time again",
        timeout_s=recovery_left(),
        interval_s=0.5,
    )
    accepted.append(after.json()["tracking_number"])

    async def all_notified() -> Counter[str] | None:
        sent = await receipts(client, own_backend)
        return sent if all(sent[number] for number in accepted) else None

    sent = await eventually(
        all_notified,
        what="a receipt for every accepted request",
        timeout_s=NOTIFIED_WITHIN_S,
        interval_s=2,
    )
    assert [number for number in accepted if sent[number] != 1] == [], "not notified once"

    await settled(client, own_backend, within_s=SETTLES_WITHIN_S)
    await eventually(
        lambda: connections(own_backend) <= idle_connections + 5,
        what="PostgreSQL's connections back to idle",
        timeout_s=POOL_SHRINKS_WITHIN_S,
        interval_s=1,
    )


def _status(answer: httpx.Response | BaseException) -> int | str:
    return answer.status_code if isinstance(answer, httpx.Response) else type(answer).__name__
