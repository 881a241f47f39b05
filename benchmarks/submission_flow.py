"""How fast requests go through the whole backend on this machine.

Starts its own engines and services on free ports (like the e2e tests), submits REQUESTS requests
with CONCURRENCY clients, and prints intake's response times and the time until every request's
notification reached the message sink and its events the audit log.

    .venv/bin/python -m benchmarks.submission_flow [--requests 300] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.audit_log import AuditTimes, auditor, verify
from benchmarks.load import LOAD_ENV
from benchmarks.stats import percentiles
from devstack.forms import load_form
from devstack.stack import Ports, Stack


async def submit_all(stack: Stack, requests: int, concurrency: int) -> tuple[list[float], set[str]]:
    latencies: list[float] = []
    request_ids: set[str] = set()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=stack.service_url("intake"), timeout=30) as http:
            while not queue.empty():
                n = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post("/v1/requests", json=load_form(n))
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                request_ids.add(response.json()["request_id"])

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, request_ids


async def wait_until_notified(stack: Stack, request_ids: set[str], timeout_s: float) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        while time.perf_counter() - started < timeout_s:
            messages = (await http.get(f"{stack.message_sink_url}/v1/received")).json()
            if len(messages) >= len(request_ids):
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
    raise TimeoutError(f"not every request was notified within {timeout_s} s")


async def stage_latencies(
    stack: Stack, request_ids: set[str], timeout_s: float
) -> dict[str, list[float]]:
    """Seconds from submission to case opened and to notification sent, from the audit log."""
    headers = auditor(stack)
    audit = AuditTimes(stack.service_url("audit"), headers)
    if not await audit.wait_for(request_ids, timeout_s):
        raise TimeoutError("the audit log did not catch up")
    verification = await verify(stack.service_url("audit"), headers)
    assert verification["valid"], verification
    stages = audit.stage_seconds(request_ids).items()
    return {stage: list(seconds.values()) for stage, seconds in stages}


async def measure(stack: Stack, requests: int, concurrency: int) -> None:
    started = time.perf_counter()
    latencies, request_ids = await submit_all(stack, requests, concurrency)
    submitted_in = time.perf_counter() - started
    drained_in = await wait_until_notified(stack, request_ids, timeout_s=300)
    total = time.perf_counter() - started
    post = {name: (value or 0.0) * 1000 for name, value in percentiles(latencies).items()}
    print(f"requests               {requests} with {concurrency} concurrent clients")
    print(f"intake POST latency    p50 {post['p50']:.1f} ms, "
          f"p95 {post['p95']:.1f} ms, max {post['max']:.1f} ms")  # fmt: skip
    print(f"intake throughput      {requests / submitted_in:.0f} requests/s")
    print(f"all notified after     {total:.2f} s ({drained_in:.2f} s after the last submission)")
    print(f"end-to-end throughput  {requests / total:.0f} requests/s")
    for stage, seconds in (await stage_latencies(stack, request_ids, timeout_s=600)).items():
        cut = {name: value or 0.0 for name, value in percentiles(seconds).items()}
        spread = f"p50 {cut['p50']:.2f} s, p95 {cut['p95']:.2f} s, max {cut['max']:.2f} s"
        print(f"submitted → {stage:<17} {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free(), service_env=LOAD_ENV)
        try:
            stack.start_all()
            asyncio.run(measure(stack, args.requests, args.concurrency))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
