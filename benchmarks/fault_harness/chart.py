"""One picture of the run: throughput, latency and consumer lag on one time axis, each fault's
window shaded across all three, so a dip or a backlog lines up with what caused it."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from matplotlib.figure import Figure

from benchmarks.fault_harness.faults import Window
from benchmarks.fault_harness.ledger import Call
from benchmarks.stats import percentiles

LagSample = tuple[float, dict[str, int]]


def per_second(calls: Sequence[Call]) -> dict[str, list[float]]:
    """Answered (<400) and failed calls, and p50/p99 latency (ms), by the second each was sent."""
    end = int(max((call.at_s for call in calls), default=0)) + 1
    ok, failed = [0.0] * end, [0.0] * end
    latencies: defaultdict[int, list[float]] = defaultdict(list)
    for call in calls:
        second = int(call.at_s)
        if call.ok:
            ok[second] += 1
            latencies[second].append(call.latency_s * 1000)
        else:
            failed[second] += 1
    cuts = [percentiles(latencies[second]) for second in range(end)]
    return {
        "ok": ok,
        "failed": failed,
        "p50_ms": [math.nan if cut["p50"] is None else cut["p50"] for cut in cuts],
        "p99_ms": [math.nan if cut["p99"] is None else cut["p99"] for cut in cuts],
    }


def plot(
    path: Path,
    title: str,
    calls: Sequence[Call],
    lag: Sequence[LagSample],
    windows: Sequence[Window],
) -> None:
    series = per_second(calls)
    seconds = list(range(len(series["ok"])))
    fig = Figure(figsize=(13, 10), layout="constrained")
    throughput, latency, backlog = fig.subplots(3, 1, sharex=True)
    fig.suptitle(title, fontsize=11)
    throughput.step(seconds, series["ok"], where="post", label="answered < 400")
    throughput.step(seconds, series["failed"], where="post", label="5xx, 429 or no answer")
    throughput.set_ylabel("calls per second")
    throughput.set_title("Throughput (every call of every channel)", loc="left", fontsize=10)
    latency.plot(seconds, series["p50_ms"], label="p50", marker=".", markersize=3)
    latency.plot(seconds, series["p99_ms"], "--", label="p99", marker=".", markersize=3)
    latency.set_yscale("log")
    latency.set_ylabel("ms (log), by second sent")
    latency.set_title("Latency of answered calls", loc="left", fontsize=10)
    groups = sorted({group for _, lags in lag for group in lags})
    for group in groups:
        backlog.plot(
            [at for at, _ in lag],
            [lags.get(group, math.nan) for _, lags in lag],
            label=group,
            marker=".",
            markersize=3,
        )
    backlog.set_ylabel("messages not committed")
    backlog.set_xlabel("seconds since the run began")
    backlog.set_title(
        "Consumer lag per group (gaps: Kafka did not answer)", loc="left", fontsize=10
    )
    colours = ["tab:red", "tab:purple", "tab:brown", "tab:olive", "tab:cyan", "tab:pink"]
    for ax in (throughput, latency, backlog):
        for k, window in enumerate(windows):
            ax.axvspan(window.start_s, window.end_s, color=colours[k % len(colours)], alpha=0.15)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    for k, window in enumerate(windows):
        throughput.annotate(
            window.label,
            (window.start_s, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -4 - 10 * (k % 4)),
            textcoords="offset points",
            fontsize=7,
            verticalalignment="top",
            color=colours[k % len(colours)],
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
