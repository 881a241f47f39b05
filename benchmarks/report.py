"""Prints a run's figures beside the machine's ceilings, and writes them all to JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any

from benchmarks.analysis import (
    EVENTS_READ_PER_REQUEST,
    EVENTS_WRITTEN_PER_REQUEST,
    STACK_TOTAL,
    RunFigures,
)
from benchmarks.ceilings import BARE_ENDPOINT, Ceiling
from benchmarks.cpu import THIS_PROCESS
from benchmarks.machine import Machine
from benchmarks.stats import Percentiles, ratio
from devstack.stack import SERVICES

KAFKA = "kafka"
NOT_ENGINE = {*SERVICES, KAFKA, "message_sink", THIS_PROCESS, STACK_TOTAL, BARE_ENDPOINT}


@dataclass(frozen=True)
class Comparison:
    figure: str
    value: float | None
    ceiling: str
    ceiling_value: float | None
    ratio: float | None


def _engine_ms(cpu_ms: Mapping[str, float]) -> float | None:
    """CPU of the MongoDB-protocol engine: every kind that is no service, Kafka, sink or client."""
    engine = [ms for kind, ms in cpu_ms.items() if kind not in NOT_ENGINE]
    return sum(engine) if engine else None


def comparisons(
    figures: RunFigures, ceilings: Mapping[str, Ceiling], machine: Machine
) -> list[Comparison]:
    """Each main figure over the ceiling that bounds it on this machine."""
    bare = ceilings["bare endpoint POST"]
    insert = ceilings["engine insert_one"]
    produce, consume = ceilings["kafka produce"], ceilings["kafka consume"]
    cpu_ms = figures.cpu.ms_per_request
    completed = figures.completed_per_s
    kafka_written_ms = EVENTS_WRITTEN_PER_REQUEST * produce.cpu_ms.get(KAFKA, 0.0)
    kafka_read_ms = EVENTS_READ_PER_REQUEST * consume.cpu_ms.get(KAFKA, 0.0)
    added_ms = figures.cpu.above_idle_ms_per_request.get(STACK_TOTAL)
    idle_cpus = figures.cpu.idle_percent[STACK_TOTAL] / 100
    cpu_bound_per_s = (machine.cpus - idle_cpus) * 1000 / added_ms if added_ms else None
    pairs: list[tuple[str, float | None, str, float | None]] = [
        ("intake accepted/s", figures.accepted_per_s, "bare endpoint POST/s", bare.per_s),
        ("intake accepted/s", figures.accepted_per_s, "engine insert_one/s", insert.per_s),
        ("POST p50 ms", figures.post_latency_ms["p50"],
         "bare endpoint p50 ms (at its max rate)", bare.latency_ms["p50"]),
        ("end-to-end completed/s", completed, "engine update_one by _id/s",
         ceilings["engine update_one by _id"].per_s),
        (f"events written/s ({EVENTS_WRITTEN_PER_REQUEST} per request)",
         EVENTS_WRITTEN_PER_REQUEST * completed, "Kafka produce msg/s", produce.per_s),
        (f"events read/s ({EVENTS_READ_PER_REQUEST} per request)",
         EVENTS_READ_PER_REQUEST * completed, "Kafka consume msg/s", consume.per_s),
        ("intake CPU ms/request", cpu_ms.get("intake"),
         "bare endpoint CPU ms/request", bare.cpu_ms.get(BARE_ENDPOINT)),
        ("engine CPU ms/request", _engine_ms(cpu_ms),
         "engine CPU ms per insert_one", _engine_ms(insert.cpu_ms)),
        ("Kafka CPU ms/request", cpu_ms.get(KAFKA),
         f"Kafka CPU ms for {EVENTS_WRITTEN_PER_REQUEST} produced + {EVENTS_READ_PER_REQUEST} read",
         kafka_written_ms + kafka_read_ms or None),
        ("stack CPUs busy", figures.cpu.share_of_machine * machine.cpus, "CPUs",
         float(machine.cpus)),
        ("offered req/s", figures.offered_per_s,
         "CPU-bound req/s (free CPUs / added CPU per req)", cpu_bound_per_s),
    ]  # fmt: skip
    return [
        Comparison(figure, value, ceiling, bound, ratio(value, bound))
        for figure, value, ceiling, bound in pairs
    ]


def _cut(cut: Percentiles) -> str:
    shown = (f"{name} {'-' if value is None else f'{value:.1f}'}" for name, value in cut.items())
    return "  ".join(shown) + " ms"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"


def _line(label: str, text: str) -> None:
    print(f"{label:<25}{text}")


def print_ceilings(ceilings: Mapping[str, Ceiling]) -> None:
    print("ceilings: 20 concurrent tasks for a few seconds each, on the same engines")
    for name, ceiling in ceilings.items():
        _line(f"  {name}", f"{ceiling.per_s:>9,.0f} {ceiling.unit}/s")
        if ceiling.latency_ms["p50"] is not None:
            _line("", f"  latency {_cut(ceiling.latency_ms)}")
        top = sorted(ceiling.cpu_ms.items(), key=lambda item: -item[1])[:3]
        unit = ceiling.unit.removesuffix("s")
        _line("", "  CPU ms per " + unit + ": " + ", ".join(f"{k} {ms:.3f}" for k, ms in top))


def print_figures(figures: RunFigures) -> None:
    delay = figures.send_delay_ms
    errors = ", ".join(f"{outcome}: {n}" for outcome, n in figures.errors.items()) or "none"
    _line(
        "offered",
        f"{figures.offered_per_s:g} req/s for {figures.duration_s:g} s ({figures.requests} "
        f"requests, sent behind schedule p99 {_number(delay['p99'])} ms)",
    )
    _line(
        "accepted (202)",
        f"{figures.accepted_per_s:.1f} req/s ({figures.accepted} of {figures.requests}), "
        f"errors: {errors}",
    )
    _line("POST latency", _cut(figures.post_latency_ms))
    _line("submitted → case opened", _cut(figures.case_opened_ms))
    _line("submitted → notified", _cut(figures.notified_ms))
    _line(
        "end-to-end completed",
        f"{figures.completed_per_s:.1f} req/s ({figures.notified} notified, "
        f"{figures.not_notified} not)",
    )
    for group, lag in figures.lag.items():
        _line(
            f"lag of {group}",
            f"max {lag.max}, at end {lag.final}, growth under load {lag.growth_per_s:+.2f} msg/s "
            f"(of {lag.offered_per_s:.1f} msg/s written)",
        )
    _line(
        "time to notification",
        f"grew {figures.notified_growth * 1000:+.0f} ms per second of load",
    )
    cpu = figures.cpu
    _line(
        f"CPU over {cpu.window_s:.1f} s",
        f"stack used {cpu.share_of_machine:.0%} of the machine, the hypervisor took "
        f"{cpu.stolen_percent:.1f}% of it; {cpu.stack_ms_per_offered:.1f} ms per request sent; "
        "ms per accepted request (all, above idle) and idle use:",
    )
    for kind, ms in sorted(cpu.ms_per_request.items(), key=lambda item: -item[1]):
        _line(
            f"  {kind}",
            f"{ms:7.2f} {cpu.above_idle_ms_per_request[kind]:7.2f} ms   "
            f"{cpu.seconds[kind]:6.2f} CPU-s   idle {cpu.idle_percent[kind]:5.1f}% of a CPU",
        )
    _line("sustained", "yes" if figures.sustained else "no: " + "; ".join(figures.shortfalls))


def print_comparisons(rows: list[Comparison]) -> None:
    print("figure ÷ ceiling")
    figures = [f"{row.figure} {_number(row.value)}" for row in rows]
    ceilings = [f"{row.ceiling} {_number(row.ceiling_value)}" for row in rows]
    width, ceiling_width = max(map(len, figures)), max(map(len, ceilings))
    for row, figure, ceiling in zip(rows, figures, ceilings, strict=True):
        share = "-" if row.ratio is None else f"{row.ratio:.3g}"
        print(f"  {figure:<{width}}  ÷  {ceiling:<{ceiling_width}}  = {share}")


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=1, default=_plain) + "\n")


def _plain(value: object) -> Any:
    """Dataclasses as dicts, for json.dumps."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
