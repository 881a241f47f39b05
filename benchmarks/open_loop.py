"""What a request costs the whole backend at a fixed offered rate, beside this machine's ceilings.

Starts its own engines and services on free ports, measures the engines' ceilings, then submits
requests at a fixed rate for a fixed time whatever the responses do (open loop), and waits until
the audit log holds every accepted request. Prints throughput, latencies, consumer lag and CPU per
request, each beside the ceiling that bounds it, and writes NAME.json (every figure and the
per-second series) and NAME.png. `--sweep` tries rising rates and reports the highest sustained.

    .venv/bin/python -m benchmarks.open_loop --rate 50 --duration 60 [--out benchmarks/results/NAME]
    .venv/bin/python -m benchmarks.open_loop --sweep [--rates 50,100,150,200,300] [--duration 15]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.analysis import EVENTS_WRITTEN_PER_REQUEST, RunAnalysis, RunFigures, Series
from benchmarks.audit_log import VERIFY_TIMEOUT_S, AuditTimes, auditor, verify
from benchmarks.ceilings import Ceiling, measure_ceilings
from benchmarks.cpu import CpuMeter, process_groups
from benchmarks.lag import LagProbe
from benchmarks.load import (
    CLIENTS,
    CONNECTIONS_PER_CLIENT,
    LOAD_ENV,
    MAX_REQUESTS,
    open_loop,
)
from benchmarks.machine import Machine, this_machine
from benchmarks.monitor import Monitor
from benchmarks.plot import plot_run, plot_sweep
from benchmarks.report import (
    comparisons,
    print_ceilings,
    print_comparisons,
    print_figures,
    write_json,
)
from devstack.engine_stats import broker_writes
from devstack.forms import load_form
from devstack.operations import Operations, breakdown, difference, operations
from devstack.stack import Ports, Stack

RESULTS = Path(__file__).parent / "results"
SWEEP_RATES = "50,100,150,200,300"
MAX_RATE = 2000.0
MAX_DURATION_S = 600.0
MAX_SWEEP_STEPS = 8
SETTLE_S = 2.0
IDLE_S = 3.0
AUDIT_READ_TIMEOUT_S = 60.0
"""For reading the run's entries once the backlog drained (or did not, in time)."""


@dataclass(frozen=True)
class Step:
    figures: RunFigures
    series: Series
    operations: dict[str, Operations]
    """Engine operations each service sent during the step (polling included), by activity."""
    broker_writes: int
    """Write calls of the Kafka broker during the step: one per TLS record it sent."""

    def broker_writes_per_request(self) -> float:
        return self.broker_writes / max(self.figures.accepted, 1)

    def operations_per_request(self) -> dict[str, dict[str, float]]:
        """Per accepted request, by service: the total, then each activity and command."""
        accepted = max(self.figures.accepted, 1)
        return {
            service: {
                "total": counts.total() / accepted,
                **{" ".join(key): count / accepted for key, count in counts.most_common()},
            }
            for service, counts in self.operations.items()
        }

    def print_operations(self) -> None:
        accepted = max(self.figures.accepted, 1)
        total = sum(counts.total() for counts in self.operations.values()) / accepted
        print(f"engine operations        {total:.1f} per accepted request, by service:")
        for service, counts in self.operations.items():
            print(f"  {service}: {counts.total() / accepted:.2f}")
            print(breakdown(counts, accepted))
        writes = self.broker_writes_per_request()
        print(f"Kafka broker writes      {writes:.0f} per accepted request")


class Bench:
    """One stack's engines, ceilings and audit log, shared by the steps run on it."""

    def __init__(self, stack: Stack, drain_timeout_s: float) -> None:
        self.stack = stack
        self.drain_timeout_s = drain_timeout_s
        self.machine: Machine = this_machine()
        self.auditor = auditor(stack)
        self.audit = AuditTimes(stack.service_url("audit"), self.auditor)
        self.ceilings: dict[str, Ceiling] = {}
        self.offered = 0
        """Forms sent by the steps so far: the next step's citizens are new ones, since a NIK
        whose application is open is refused another."""
        self.idle_cpu_per_s: dict[str, float] = {}

    async def measure_ceilings(self) -> None:
        """The engines' ceilings, then what the stack uses idle once they have settled."""
        self.ceilings = await measure_ceilings(self.stack)
        print_ceilings(self.ceilings)
        await asyncio.sleep(SETTLE_S)
        with CpuMeter(process_groups(self.stack)) as cpu:
            await asyncio.sleep(IDLE_S)
        self.idle_cpu_per_s = {kind: used / IDLE_S for kind, used in cpu.used.items()}

    async def step(self, probe: LagProbe, rate: float, duration_s: float) -> Step:
        """Offers `rate` for `duration_s` and waits for the backlog to drain, sampling all along."""
        monitor = Monitor(self.stack, probe)
        async with httpx.AsyncClient(timeout=10) as http:
            before = await operations(http, self.stack)
        writes_before = broker_writes(self.stack)
        await monitor.start()
        try:
            first = self.offered
            run = await open_loop(
                base_url=self.stack.service_url("intake"),
                path="/v1/requests",
                body=lambda n: load_form(first + n),
                rate=rate,
                duration_s=duration_s,
            )
            self.offered += len(run.sent)
            accepted = [sent.request_id for sent in run.sent if sent.request_id]
            drained = await monitor.wait_until_drained(
                EVENTS_WRITTEN_PER_REQUEST * len(accepted), self.drain_timeout_s
            )
        finally:
            await monitor.stop()
        async with httpx.AsyncClient(timeout=10) as http:
            spent = difference(await operations(http, self.stack), before)
        writes = broker_writes(self.stack) - writes_before
        read = await self.audit.wait_for(accepted, AUDIT_READ_TIMEOUT_S)
        analysis = RunAnalysis(
            run,
            self.audit,
            monitor.samples,
            cpus=self.machine.cpus,
            idle_cpu_per_s=self.idle_cpu_per_s,
        )
        return Step(analysis.figures(drained=drained and read), analysis.series(), spent, writes)

    def settings(self, **given: object) -> dict[str, object]:
        return {
            **given,
            "drain_timeout_s": self.drain_timeout_s,
            "http_clients": CLIENTS,
            "connections_per_client": CONNECTIONS_PER_CLIENT,
            "stack": list(self.stack.processes),
        }


async def single(bench: Bench, rate: float, duration_s: float, out: Path) -> None:
    await bench.measure_ceilings()
    async with LagProbe(bench.stack.kafka_access()) as probe:
        step = await bench.step(probe, rate, duration_s)
    rows = comparisons(step.figures, bench.ceilings, bench.machine)
    print_figures(step.figures)
    step.print_operations()
    print_comparisons(rows)
    log_check: dict[str, Any] | None = None
    try:
        log_check = await verify(bench.stack.service_url("audit"), bench.auditor)
    except httpx.TimeoutException:
        print(f"audit log                not checked: no answer within {VERIFY_TIMEOUT_S:.0f} s")
    else:
        print(
            f"audit log                valid: {log_check['valid']} ({log_check['entries']} "
            f"entries, {log_check['checkpoints']} checkpoints)"
        )
    write_json(
        out.parent / f"{out.name}.json",
        {
            "benchmark": "open loop",
            "machine": bench.machine,
            "settings": bench.settings(rate=rate, duration_s=duration_s),
            "ceilings": bench.ceilings,
            "figures": step.figures,
            "operations_per_request": step.operations_per_request(),
            "kafka_broker_writes_per_request": step.broker_writes_per_request(),
            "comparisons": rows,
            "audit_log": log_check,
            "series": step.series,
        },
    )
    plot_run(out.parent / f"{out.name}.png", step.figures, step.series, bench.machine)
    print(f"wrote {out}.json and {out}.png")


async def sweep(bench: Bench, rates: list[float], duration_s: float, out: Path) -> None:
    """Rising rates on one stack until one is not sustained; the backlog drains between steps."""
    await bench.measure_ceilings()
    steps: list[Step] = []
    async with LagProbe(bench.stack.kafka_access()) as probe:
        for rate in rates:
            print(f"--- {rate:g} req/s for {duration_s:g} s")
            step = await bench.step(probe, rate, duration_s)
            print_figures(step.figures)
            step.print_operations()
            steps.append(step)
            if not step.figures.sustained:
                break
    sustained = [step for step in steps if step.figures.sustained]
    best = max(sustained, key=lambda step: step.figures.offered_per_s, default=None)
    rows = comparisons(best.figures, bench.ceilings, bench.machine) if best else []
    tried = ", ".join(f"{step.figures.offered_per_s:g}" for step in steps)
    if best is None:
        print(f"highest sustained rate   none of {tried} req/s")
    else:
        print(f"highest sustained rate   {best.figures.offered_per_s:g} req/s (tried {tried})")
        print_comparisons(rows)
    write_json(
        out.parent / f"{out.name}.json",
        {
            "benchmark": "open loop sweep",
            "machine": bench.machine,
            "settings": bench.settings(rates=rates, duration_s=duration_s),
            "ceilings": bench.ceilings,
            "highest_sustained_per_s": best.figures.offered_per_s if best else None,
            "comparisons_at_highest": rows,
            "steps": [
                {
                    "figures": step.figures,
                    "series": step.series,
                    "operations_per_request": step.operations_per_request(),
                    "kafka_broker_writes_per_request": step.broker_writes_per_request(),
                }
                for step in steps
            ],
        },
    )
    plot_sweep(out.parent / f"{out.name}.png", [step.figures for step in steps], bench.machine)
    print(f"wrote {out}.json and {out}.png")


def _bounded(low: float, high: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not low < value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not in ({low:g}, {high:g}]")
        return value

    return parse


def _rates(text: str) -> list[float]:
    rates = [_bounded(0, MAX_RATE)(part) for part in text.split(",")]
    if not 0 < len(rates) <= MAX_SWEEP_STEPS or rates != sorted(rates):
        raise argparse.ArgumentTypeError(f"give 1 to {MAX_SWEEP_STEPS} rising rates")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=_bounded(0, MAX_RATE), default=50.0, help="requests/s")
    parser.add_argument("--duration", type=_bounded(0, MAX_DURATION_S), help="seconds per run")
    parser.add_argument("--sweep", action="store_true", help="find the highest sustained rate")
    parser.add_argument("--rates", type=_rates, default=_rates(SWEEP_RATES), help="for --sweep")
    parser.add_argument(
        "--drain-timeout", type=_bounded(0, MAX_DURATION_S), default=90.0, help="seconds"
    )
    parser.add_argument("--out", type=Path, help="path and name of the .json and .png, no suffix")
    args = parser.parse_args()
    duration: float = args.duration or (15.0 if args.sweep else 60.0)
    if (max(args.rates) if args.sweep else args.rate) * duration > MAX_REQUESTS:
        parser.error(f"rate times duration is over {MAX_REQUESTS} requests")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"sweep-{stamp}" if args.sweep else f"open-loop-{args.rate:g}rps-{duration:g}s-{stamp}"
    out: Path = args.out or RESULTS / name
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free(), service_env=LOAD_ENV)
        try:
            stack.start_all()
            bench = Bench(stack, args.drain_timeout)
            if args.sweep:
                asyncio.run(sweep(bench, args.rates, duration, out))
            else:
                asyncio.run(single(bench, args.rate, duration, out))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
