"""How fast requests go through the whole backend on this machine.

Starts its own engines and services on free ports (like the e2e tests), submits REQUESTS requests
with CONCURRENCY clients, and prints intake's response times and the time until every request's
notification reached the message sink and its events the audit log.

    .venv/bin/python -m benchmarks.submission_flow [--requests 300] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from devstack.stack import Ports, Stack

SUBMISSION = {
    "service_code": "KTP_CETAK",
    "nik": "3516094506900002",
    "name": "Dewi Lestari",
    "phone": "085712345678",
    "preferred_channel": "SMS",
}


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
                response = await http.post(
                    "/v1/requests", json={**SUBMISSION, "name": f"Warga {n}"}
                )
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                request_ids.add(response.json()["request_id"])

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, request_ids


async def wait_until_notified(stack: Stack, request_ids: set[str], timeout_s: float) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        while time.perf_counter() - started < timeout_s:
            messages = (await http.get(f"{stack.message_sink_url}/v1/messages")).json()
            if len(messages) >= len(request_ids):
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
    raise TimeoutError(f"not every request was notified within {timeout_s} s")


async def stage_latencies(
    stack: Stack, request_ids: set[str], timeout_s: float
) -> dict[str, list[float]]:
    """Seconds from submission to case opened and to notification sent, from the audit log."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=stack.service_url("audit"), timeout=60) as http:
        while True:
            verification = (await http.get("/v1/audit/verify")).json()
            assert verification["valid"], verification
            if verification["entries"] >= 3 * len(request_ids):
                break
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError("the audit log did not catch up")
            await asyncio.sleep(0.5)
        times: dict[str, dict[str, datetime]] = {}
        after = 0
        while True:
            page = (
                await http.get("/v1/audit/entries", params={"after_sequence": after, "limit": 1000})
            ).json()
            for entry in page["entries"]:
                times.setdefault(entry["subject"], {})[entry["event_type"].split(".")[-2]] = (
                    datetime.fromisoformat(entry["event_time"])
                )
            if page["next_after_sequence"] is None:
                break
            after = page["next_after_sequence"]
    stages: dict[str, list[float]] = {"case opened": [], "notification sent": []}
    for request_id in request_ids:
        moments = times[request_id]
        stages["case opened"].append((moments["opened"] - moments["submitted"]).total_seconds())
        stages["notification sent"].append((moments["sent"] - moments["submitted"]).total_seconds())
    return stages


async def measure(stack: Stack, requests: int, concurrency: int) -> None:
    started = time.perf_counter()
    latencies, request_ids = await submit_all(stack, requests, concurrency)
    submitted_in = time.perf_counter() - started
    drained_in = await wait_until_notified(stack, request_ids, timeout_s=300)
    total = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"requests               {requests} with {concurrency} concurrent clients")
    print(f"intake POST latency    p50 {quantiles[49] * 1000:.1f} ms, "
          f"p95 {quantiles[94] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    print(f"intake throughput      {requests / submitted_in:.0f} requests/s")
    print(f"all notified after     {total:.2f} s ({drained_in:.2f} s after the last submission)")
    print(f"end-to-end throughput  {requests / total:.0f} requests/s")
    for stage, seconds in (await stage_latencies(stack, request_ids, timeout_s=600)).items():
        cut = statistics.quantiles(seconds, n=100)
        spread = f"p50 {cut[49]:.2f} s, p95 {cut[94]:.2f} s, max {max(seconds):.2f} s"
        print(f"submitted → {stage:<17} {spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free())
        try:
            stack.start_all()
            asyncio.run(measure(stack, args.requests, args.concurrency))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
