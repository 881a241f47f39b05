"""Charts a person reads at a glance: a run over time, and a sweep over offered rates.

Figures are drawn with matplotlib's object API and its Agg canvas, so no display is needed and no
global pyplot state is touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogFormatter

from benchmarks.analysis import STACK_TOTAL, RunFigures, Series
from benchmarks.cpu import THIS_PROCESS
from benchmarks.machine import Machine


def _values(points: Sequence[float | None]) -> list[float]:
    """None as NaN, which matplotlib leaves as a gap."""
    return [math.nan if value is None else value for value in points]


def _machine(machine: Machine) -> str:
    return f"{machine.cpus} CPUs, {machine.ram_gib:g} GiB RAM, {machine.date}"


def _summary(figures: RunFigures) -> str:
    cpu_ms = figures.cpu.ms_per_request.get(STACK_TOTAL)
    parts = [
        f"accepted {figures.accepted_per_s:.1f}/s",
        f"completed {figures.completed_per_s:.1f}/s",
        f"POST p99 {figures.post_latency_ms['p99'] or math.nan:.0f} ms",
        f"notified p99 {figures.notified_ms['p99'] or math.nan:.0f} ms",
        f"stack CPU {cpu_ms or math.nan:.1f} ms/request",
        "sustained" if figures.sustained else "NOT sustained",
    ]
    return " · ".join(parts)


def _log_scale(ax: Axes) -> None:
    """Log scale labelled in plain numbers, with labels between decades when few are shown."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def _legend(ax: Axes) -> None:
    """Beside the panel, where it hides no data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def _mark_load_end(axes: Sequence[Axes], duration_s: float) -> None:
    for ax in axes:
        ax.axvline(duration_s, color="grey", linestyle="--", linewidth=1)
        ax.grid(True, alpha=0.3)
    axes[0].annotate(
        "load ends",
        (duration_s, 0),
        xycoords=("data", "axes fraction"),
        xytext=(-4, 4),
        textcoords="offset points",
        horizontalalignment="right",
        color="grey",
        fontsize=8,
    )


def plot_run(path: Path, figures: RunFigures, series: Series, machine: Machine) -> None:
    """Throughput, latency, consumer lag and CPU over time, one panel each."""
    fig = Figure(figsize=(13, 12), layout="constrained")
    throughput, latency, lag, cpu = fig.subplots(4, 1, sharex=True)
    fig.suptitle(
        f"Open loop: {figures.offered_per_s:g} req/s offered for {figures.duration_s:g} s "
        f"— {_machine(machine)}\n{_summary(figures)}",
        fontsize=11,
    )
    seconds = series.second
    throughput.step(seconds, series.accepted, where="post", label="accepted (202)")
    throughput.step(seconds, series.completed, where="post", label="completed (notified)")
    throughput.step(
        seconds, series.offered, where="post", label="offered", color="black", linestyle=":"
    )
    throughput.set_ylabel("requests per second")
    throughput.set_title("Throughput", loc="left", fontsize=10)
    _legend(throughput)

    for values, label, style in (
        (series.post_p50_ms, "POST p50", "-"),
        (series.post_p99_ms, "POST p99", "--"),
        (series.notified_p50_ms, "submitted → notified p50", "-"),
        (series.notified_p99_ms, "submitted → notified p99", "--"),
    ):
        latency.plot(seconds, _values(values), style, label=label, marker=".", markersize=3)
    _log_scale(latency)
    latency.set_ylabel("ms (log), by second sent")
    latency.set_title("Latency", loc="left", fontsize=10)
    _legend(latency)

    for group, messages in series.lag.items():
        lag.plot(series.sample_s, messages, label=group, marker=".", markersize=3)
    lag.set_ylabel("messages not committed")
    lag.set_title("Consumer lag per group", loc="left", fontsize=10)
    _legend(lag)

    kinds = [kind for kind in series.cpu_percent if kind != THIS_PROCESS]
    cpu.stackplot(
        series.sample_s[1:],
        [_values(series.cpu_percent[kind][1:]) for kind in kinds],
        labels=kinds,
        step="pre",
        alpha=0.8,
    )
    cpu.plot(
        series.sample_s[1:],
        _values(series.cpu_percent[THIS_PROCESS][1:]),
        color="black",
        linewidth=1,
        drawstyle="steps-pre",
        label=f"{THIS_PROCESS} (not stacked)",
    )
    cpu.axhline(100 * machine.cpus, color="red", linewidth=1, label="all CPUs")
    cpu.set_ylabel("% of one CPU")
    cpu.set_xlabel("seconds since the first request")
    cpu.set_title("CPU per process kind (stacked)", loc="left", fontsize=10)
    _legend(cpu)

    _mark_load_end([throughput, latency, lag, cpu], figures.duration_s)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def plot_sweep(path: Path, steps: Sequence[RunFigures], machine: Machine) -> None:
    """Achieved rates and latencies against the offered rate; hollow marks are not sustained."""
    fig = Figure(figsize=(13, 8), layout="constrained")
    rates, latency = fig.subplots(2, 1, sharex=True)
    sustained = [step.offered_per_s for step in steps if step.sustained]
    highest = f"{max(sustained):g} req/s" if sustained else "none"
    fig.suptitle(
        f"Sweep of offered rates, {steps[0].duration_s:g} s each — highest sustained: {highest}"
        f"\n{_machine(machine)}",
        fontsize=11,
    )
    offered = [step.offered_per_s for step in steps]
    rates.plot(offered, offered, color="black", linestyle=":", label="offered")
    for values, label, color in (
        ([step.accepted_per_s for step in steps], "accepted (202)", "tab:blue"),
        ([step.completed_per_s for step in steps], "completed (notified)", "tab:orange"),
    ):
        rates.plot(offered, values, color=color, label=label)
        for x, y, step in zip(offered, values, steps, strict=True):
            face = color if step.sustained else "white"
            rates.plot(x, y, "o", color=color, markerfacecolor=face)
    rates.set_ylabel("requests per second")
    rates.set_title("Throughput (hollow: not sustained)", loc="left", fontsize=10)
    _legend(rates)
    for quantile, style in (("p50", "-"), ("p99", "--")):
        for name, cuts, color in (
            ("POST", [step.post_latency_ms for step in steps], "tab:blue"),
            ("submitted → notified", [step.notified_ms for step in steps], "tab:orange"),
        ):
            latency.plot(
                offered,
                _values([cut[quantile] for cut in cuts]),
                style,
                color=color,
                marker="o",
                label=f"{name} {quantile}",
            )
    _log_scale(latency)
    latency.set_ylabel("ms (log)")
    latency.set_xlabel("offered requests per second")
    latency.set_xticks(offered)
    latency.set_title("Latency", loc="left", fontsize=10)
    _legend(latency)
    for ax in (rates, latency):
        ax.grid(True, alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
