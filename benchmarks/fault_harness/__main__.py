"""Load and faults, then the books: does the backend lose or double anything it accepted?

Starts its own stack on free ports, drives a seeded mix through every channel while it kills
service instances and Kafka brokers, stops Kafka and pauses the database, and makes the message
providers time out, fail and throttle; then waits for the backend to settle and checks the books
(see `books.py`). Writes results.json and run.png to --out, prints each discrepancy and exits 1 if
there is any.

    .venv/bin/python -m benchmarks.fault_harness --submissions 2000 --seed 1 --out DIR
    .venv/bin/python -m benchmarks.fault_harness --submissions 300 --outage 10 \\
        --faults instances,providers --out DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.fault_harness import chart, collect
from benchmarks.fault_harness.books import Discrepancy, check_books
from benchmarks.fault_harness.chart import LagSample
from benchmarks.fault_harness.faults import KINDS, Schedule, Settings
from benchmarks.fault_harness.ledger import Ledger
from benchmarks.fault_harness.mix import CITIZENS, Mix, intake_settings
from benchmarks.fault_harness.plant import Planter, staff_directory
from benchmarks.fault_harness.stack import Faults, new_stack
from benchmarks.lag import LagProbe
from benchmarks.load import LOAD_ENV
from benchmarks.machine import this_machine
from benchmarks.report import write_json
from devstack.stack import Stack

HARNESS_ENV = {
    **LOAD_ENV,
    "NOTIFY_WHATSAPP_TIMEOUT_S": "5",
    "NOTIFY_SMS_TIMEOUT_S": "5",
    "NOTIFY_UNCERTAIN_WINDOW_S": "30",
}
"""The load's env, with provider timeouts and the wait for an uncertain message's status cut so
that a run settles in minutes; the delay fault outlasts the timeout."""
LAG_INTERVAL_S = 2.0


def outside_office_time(at: datetime) -> bool:
    calendar = intake_settings().calendar()
    return calendar.working_time_between(at, at + timedelta(microseconds=1)) == timedelta(0)


async def sample_lag(stack: Stack, ledger: Ledger, samples: list[LagSample]) -> None:
    """Each group's lag every LAG_INTERVAL_S; while Kafka does not answer, none is taken and the
    probe is made again, since its clients may not find a restarted broker."""
    while True:
        try:
            async with LagProbe(stack.kafka_access()) as probe:
                while True:
                    offsets = await asyncio.wait_for(probe.sample(), LAG_INTERVAL_S * 5)
                    samples.append((ledger.now_s(), {g: o.lag for g, o in offsets.items()}))
                    await asyncio.sleep(LAG_INTERVAL_S)
        except Exception:  # any failure of Kafka's clients: try again
            await asyncio.sleep(LAG_INTERVAL_S)


async def settle(mix: Mix, stack: Stack, lag: list[LagSample], timeout_s: float) -> bool:
    """Until no group lags and notify has nothing left to send. Cases still waiting in the
    officers' queues do not count: an office's queues are seldom empty."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        fresh = bool(lag) and mix.ledger.now_s() - lag[-1][0] < 5 * LAG_INTERVAL_S
        quiet = fresh and not any(lag[-1][1].values())
        if quiet and await collect.unsettled_notifications(stack) == 0:
            return True
        await asyncio.sleep(2)
    return False


async def run(stack: Stack, args: argparse.Namespace, faults: Faults) -> list[Discrepancy]:
    ledger = Ledger()
    lag: list[LagSample] = []
    limits = httpx.Limits(max_connections=128, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=15, limits=limits) as http:
        mix = Mix(stack, http, ledger, random.Random(args.seed), args.seed)
        planter = Planter(mix)
        schedule = Schedule(faults, args.settings, ledger, stack.message_sink_url)
        await mix.sign_in_citizens(CITIZENS)
        sampler = asyncio.create_task(sample_lag(stack, ledger, lag))
        staff = asyncio.create_task(mix.staff())
        print(f"load   {args.submissions} submissions at {args.rate:g}/s", flush=True)
        await asyncio.gather(mix.run(args.submissions, args.rate), schedule.run(), planter.all())
        mix.staff_done.set()
        await staff
        await mix.fixes_done()
        print(f"load   done at {ledger.now_s():.0f} s, officers gone home; settling", flush=True)
        settled = await settle(mix, stack, lag, args.settle_timeout)
        print(
            f"load   {'settled' if settled else 'not settled'} at {ledger.now_s():.0f} s; "
            f"sending {len(ledger.unanswered)} unanswered submissions again",
            flush=True,
        )
        await mix.sign_in_again()
        retried = await mix.retry_unanswered()
        await mix.redeliver()
        await planter.bulk_reads(outside_office_time(datetime.now().astimezone()))
        again = await settle(mix, stack, lag, args.settle_timeout)
        print(
            f"load   {'settled' if again else 'not settled'} at {ledger.now_s():.0f} s", flush=True
        )
        settled = settled and again
        await asyncio.sleep(2 * LAG_INTERVAL_S)
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        print(f"books  collecting at {ledger.now_s():.0f} s", flush=True)
        records = await collect.records(http, stack, ledger, retried)
    found = check_books(records, outside_office_time)
    if not settled:
        found.insert(0, Discrepancy("not settled", "run", f"within {args.settle_timeout:g} s"))
    outcomes = Counter(f"{call.kind} {call.outcome}" for call in ledger.calls)
    machine = this_machine()
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(
        args.out / "results.json",
        {
            "benchmark": "load and faults",
            "machine": machine,
            "settings": {
                "submissions": args.submissions,
                "rate": args.rate,
                "seed": args.seed,
                "instances": args.instances,
                "kafka_brokers": args.kafka_brokers,
                "faults": asdict(args.settings),
            },
            "duration_s": ledger.now_s(),
            "books": collect.summary(records),
            "discrepancies": found,
            "fault_windows": schedule.windows,
            "calls": dict(sorted(outcomes.items())),
            "planted": records.planted,
            "lag": lag,
        },
    )
    chart.plot(
        args.out / "run.png",
        f"Load and faults: {args.submissions} submissions at {args.rate:g}/s, seed {args.seed}, "
        f"{args.instances} instance(s), {args.kafka_brokers} broker(s) — {machine.cpus} CPUs, "
        f"{machine.date}\n{len(found)} discrepancies",
        ledger.calls,
        lag,
        schedule.windows,
    )
    print(f"books  {collect.summary(records)}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=8.0, help="submissions per second")
    parser.add_argument("--instances", type=int, default=1, help="processes per service")
    parser.add_argument("--kafka-brokers", type=int, default=1)
    parser.add_argument(
        "--faults", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}"
    )
    parser.add_argument("--restart-after", type=float, default=5.0, help="seconds")
    parser.add_argument("--outage", type=float, default=30.0, help="Kafka and database, seconds")
    parser.add_argument("--settle-timeout", type=float, default=600.0, help="seconds")
    parser.add_argument("--out", type=Path, required=True, help="folder for results and chart")
    args = parser.parse_args()
    kinds = tuple(kind for kind in args.faults.split(",") if kind)
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    if not 0 < args.submissions <= 9999 * 10:
        parser.error("--submissions must be between 1 and 99,990")
    args.settings = Settings(kinds=kinds, restart_after_s=args.restart_after, outage_s=args.outage)
    # Stopped by Ctrl-C or SIGTERM, even when started in the background (which ignores SIGINT):
    # the run ends and the stack is stopped, every process it started with it.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="adminduk-faults-") as run_dir:
        env = HARNESS_ENV | {
            "AUDIT_STAFF_DIRECTORY": str(staff_directory(Path(run_dir) / "staff.json"))
        }
        stack = new_stack(
            Path(run_dir),
            instances=args.instances,
            kafka_brokers=args.kafka_brokers,
            service_env=env,
        )
        faults = Faults(stack, instances=args.instances, kafka_brokers=args.kafka_brokers)
        try:
            stack.start_all()
            found = asyncio.run(run(stack, args, faults))
        except KeyboardInterrupt:
            print("stopped before the books were checked", file=sys.stderr)
            sys.exit(130)
        finally:
            faults.resume_database()
            stack.stop()
    for discrepancy in found:
        print(f"DISCREPANCY {discrepancy.check}: {discrepancy.about}: {discrepancy.detail}")
    print(f"{len(found)} discrepancies; wrote {args.out}/results.json and run.png")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
