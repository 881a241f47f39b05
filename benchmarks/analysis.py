"""Turns one open-loop run into its figures and per-second series, and judges if it was sustained.

Times are seconds after the first scheduled send. A run is sustained when intake accepted what was
offered without errors, no queue grew steadily while the load ran (neither a consumer group's lag
nor the time to notification, which also shows queues Kafka does not hold, such as deliveries
waiting in notify), and the backlog drained afterwards.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from benchmarks.audit_log import AuditTimes
from benchmarks.cpu import THIS_PROCESS
from benchmarks.lag import CONSUMED
from benchmarks.load import OpenLoopRun
from benchmarks.monitor import Sample
from benchmarks.stats import Percentiles, percentiles, slope

ACCEPTED = "202"
STACK_TOTAL = "stack total"
ACCEPTED_SHARE = 0.95
"""Sustained needs at least this share of the offered rate accepted."""
GROWTH_SHARE = 0.05
"""Sustained lets a queue grow by at most this share of what arrives: a group's lag by 5% of the
messages written to it, the time to notification by 5% of the time elapsed (arrivals outpacing the
pipeline by 5% make it grow that fast)."""
EVENTS_WRITTEN_PER_REQUEST = 3
"""request submitted, case opened, notification sent."""
EVENTS_READ_PER_REQUEST = sum(len(topics) for topics in CONSUMED.values())
"""Each event is read by every group subscribed to its topic: processing 1, notify 1, audit 3."""


@dataclass(frozen=True)
class GroupLag:
    max: int
    final: int
    growth_per_s: float
    """Least-squares slope of the lag while the load ran: near 0 when the group keeps up."""
    offered_per_s: float
    """Messages written to the group's topics per second while the load ran."""


@dataclass(frozen=True)
class CpuCost:
    window_s: float
    """From just before the first send until the audit consumer had read every event of the run."""
    seconds: dict[str, float]
    """Per process kind, and the stack's total (without the load generator)."""
    idle_percent: dict[str, float]
    """What each kind uses with no load (polling loops, timers), in % of one CPU."""
    ms_per_request: dict[str, float]
    """CPU seconds per accepted request; empty if none was accepted."""
    above_idle_ms_per_request: dict[str, float]
    """The same, less what the kind would have used idle: the cost the requests added."""
    share_of_machine: float
    """The stack's CPU time over what all CPUs could give in the window."""
    stack_ms_per_offered: float
    """The stack's CPU per request sent, accepted or not: at a rate that fills the machine, a
    run that refuses more spends the same CPU on fewer accepted requests, so runs compare here."""
    stolen_percent: float
    """CPU time the hypervisor gave other machines, in % of all CPUs over the window: a run with
    more of it does the same work with less."""


@dataclass(frozen=True)
class RunFigures:
    offered_per_s: float
    duration_s: float
    requests: int
    send_delay_ms: Percentiles
    """How far behind schedule requests were sent: large values mean the generator lagged."""
    accepted: int
    accepted_per_s: float
    """202s per second, from the first scheduled send to the last response (at least duration)."""
    errors: dict[str, int]
    post_latency_ms: Percentiles
    """From each request's scheduled send time to its response."""
    case_opened_ms: Percentiles
    notified_ms: Percentiles
    notified: int
    not_notified: int
    completed_per_s: float
    """Requests notified per second, from the first submission to the last notification."""
    notified_growth: float
    """Slope of submitted→notified against submission time while the load ran; near 0 if kept up."""
    cpu: CpuCost
    lag: dict[str, GroupLag]
    sustained: bool
    shortfalls: list[str]


@dataclass(frozen=True)
class Series:
    second: list[int]
    offered: list[int]
    accepted: list[int]
    completed: list[int]
    post_p50_ms: list[float | None]
    post_p99_ms: list[float | None]
    notified_p50_ms: list[float | None]
    """Submitted to notification sent, by the second the request was submitted."""
    notified_p99_ms: list[float | None]
    sample_s: list[float]
    lag: dict[str, list[int]]
    cpu_percent: dict[str, list[float | None]]
    """Per kind, over the interval ending at each sample (none for the first); 100 = one CPU."""


def _per_second(times: Iterable[float], seconds: int) -> list[int]:
    counts = Counter(int(t) for t in times if 0 <= t < seconds)
    return [counts[s] for s in range(seconds)]


def _quantile_per_second(
    values: Iterable[tuple[float, float]], seconds: int, quantile: str
) -> list[float | None]:
    by_second: dict[int, list[float]] = defaultdict(list)
    for t, value in values:
        if 0 <= t < seconds:
            by_second[int(t)].append(value)
    return [percentiles(by_second[s])[quantile] for s in range(seconds)]


def _per_request(cpu_s: Mapping[str, float], requests: int) -> dict[str, float]:
    """Milliseconds per request, per kind; empty when there were no requests."""
    return {kind: used * 1000 / requests for kind, used in cpu_s.items()} if requests else {}


class RunAnalysis:
    """The run's requests, audit times and samples, placed on one time axis."""

    def __init__(
        self,
        run: OpenLoopRun,
        audit: AuditTimes,
        samples: list[Sample],
        *,
        cpus: int,
        idle_cpu_per_s: Mapping[str, float],
    ) -> None:
        self.run = run
        self.samples = samples
        self.cpus = cpus
        self.idle_cpu_per_s = idle_cpu_per_s
        self.accepted = [sent for sent in run.sent if sent.outcome == ACCEPTED]
        self.scheduled_s = {
            sent.request_id: sent.scheduled_s for sent in self.accepted if sent.request_id
        }
        self.stages = audit.stage_seconds(self.scheduled_s)
        self.notified_at_s = {
            request_id: audit.times[request_id]["sent"].timestamp() - run.started_at
            for request_id in self.stages["notification sent"]
        }
        self.submitted_at_s = [
            audit.times[request_id]["submitted"].timestamp() - run.started_at
            for request_id in self.stages["notification sent"]
        ]

    def _lag(self, group: str) -> GroupLag:
        points = [
            (sample.at - self.run.started_at, sample.offsets[group]) for sample in self.samples
        ]
        loaded = [(t, offsets) for t, offsets in points if 0 <= t <= self.run.duration_s]
        offered = 0.0
        if len(loaded) >= 2 and loaded[-1][0] > loaded[0][0]:
            written = loaded[-1][1].written - loaded[0][1].written
            offered = written / (loaded[-1][0] - loaded[0][0])
        return GroupLag(
            max=max(offsets.lag for _, offsets in points),
            final=points[-1][1].lag,
            growth_per_s=slope([(t, offsets.lag) for t, offsets in loaded]),
            offered_per_s=offered,
        )

    def _cpu(self) -> CpuCost:
        first, last = self.samples[0], self.samples[-1]
        window_s = last.at - first.at
        seconds = {kind: last.cpu_s[kind] - first.cpu_s[kind] for kind in last.cpu_s}
        idle = {kind: self.idle_cpu_per_s.get(kind, 0.0) for kind in seconds}
        for totals in (seconds, idle):
            totals[STACK_TOTAL] = sum(used for kind, used in totals.items() if kind != THIS_PROCESS)
        added = {kind: used - idle[kind] * window_s for kind, used in seconds.items()}
        return CpuCost(
            window_s=window_s,
            seconds=seconds,
            idle_percent={kind: 100 * per_s for kind, per_s in idle.items()},
            ms_per_request=_per_request(seconds, len(self.accepted)),
            above_idle_ms_per_request=_per_request(added, len(self.accepted)),
            share_of_machine=seconds[STACK_TOTAL] / (self.cpus * window_s) if window_s else 0.0,
            stack_ms_per_offered=_per_request(seconds, len(self.run.sent)).get(STACK_TOTAL, 0.0),
            stolen_percent=100 * (last.stolen_s - first.stolen_s) / (self.cpus * window_s)
            if window_s
            else 0.0,
        )

    def _notified_growth(self) -> float:
        return slope(
            [
                (self.scheduled_s[request_id], elapsed)
                for request_id, elapsed in self.stages["notification sent"].items()
                if self.scheduled_s[request_id] <= self.run.duration_s
            ]
        )

    def figures(self, *, drained: bool) -> RunFigures:
        run = self.run
        last_response = max((sent.finished_s for sent in self.accepted), default=0.0)
        accepted_per_s = len(self.accepted) / max(run.duration_s, last_response)
        errors = Counter(sent.outcome for sent in run.sent if sent.outcome != ACCEPTED)
        notified = len(self.notified_at_s)
        span = max(self.notified_at_s.values(), default=0.0) - min(self.submitted_at_s, default=0.0)
        lag = {group: self._lag(group) for group in CONSUMED}
        growth = self._notified_growth()
        shortfalls = []
        if accepted_per_s < ACCEPTED_SHARE * run.rate:
            shortfalls.append(f"accepted {accepted_per_s:.1f}/s of {run.rate:g}/s offered")
        if errors:
            shortfalls.append(f"errors {dict(errors)}")
        for group, group_lag in lag.items():
            if group_lag.growth_per_s > max(GROWTH_SHARE * group_lag.offered_per_s, 1.0):
                shortfalls.append(f"{group} lag grew {group_lag.growth_per_s:.1f} msg/s")
        if growth > GROWTH_SHARE:
            shortfalls.append(f"time to notification grew {growth * 1000:.0f} ms per second")
        if not drained:
            shortfalls.append("backlog did not drain, or the audit log was not read, in time")
        elif notified < len(self.accepted):
            shortfalls.append(f"{len(self.accepted) - notified} notifications failed")
        return RunFigures(
            offered_per_s=run.rate,
            duration_s=run.duration_s,
            requests=len(run.sent),
            send_delay_ms=percentiles(
                [(sent.started_s - sent.scheduled_s) * 1000 for sent in run.sent]
            ),
            accepted=len(self.accepted),
            accepted_per_s=accepted_per_s,
            errors=dict(errors),
            post_latency_ms=percentiles(
                [sent.latency_s * 1000 for sent in run.sent if sent.outcome.isdigit()]
            ),
            case_opened_ms=percentiles([s * 1000 for s in self.stages["case opened"].values()]),
            notified_ms=percentiles([s * 1000 for s in self.stages["notification sent"].values()]),
            notified=notified,
            not_notified=len(self.accepted) - notified,
            completed_per_s=notified / span if notified > 1 and span > 0 else 0.0,
            notified_growth=growth,
            cpu=self._cpu(),
            lag=lag,
            sustained=not shortfalls,
            shortfalls=shortfalls,
        )

    def series(self) -> Series:
        run = self.run
        sample_s = [sample.at - run.started_at for sample in self.samples]
        seconds = math.ceil(max([run.duration_s, *sample_s, *self.notified_at_s.values()]))
        responded = [
            (sent.scheduled_s, sent.latency_s * 1000) for sent in run.sent if sent.outcome.isdigit()
        ]
        notified = [
            (self.scheduled_s[request_id], elapsed * 1000)
            for request_id, elapsed in self.stages["notification sent"].items()
        ]
        cpu_percent: dict[str, list[float | None]] = {}
        for kind in self.samples[0].cpu_s:
            cpu_percent[kind] = [None] + [
                100 * (after.cpu_s[kind] - before.cpu_s[kind]) / (after.at - before.at)
                for before, after in zip(self.samples, self.samples[1:], strict=False)
            ]
        return Series(
            second=list(range(seconds)),
            offered=_per_second((sent.scheduled_s for sent in run.sent), seconds),
            accepted=_per_second((sent.finished_s for sent in self.accepted), seconds),
            completed=_per_second(self.notified_at_s.values(), seconds),
            post_p50_ms=_quantile_per_second(responded, seconds, "p50"),
            post_p99_ms=_quantile_per_second(responded, seconds, "p99"),
            notified_p50_ms=_quantile_per_second(notified, seconds, "p50"),
            notified_p99_ms=_quantile_per_second(notified, seconds, "p99"),
            sample_s=sample_s,
            lag={
                group: [sample.offsets[group].lag for sample in self.samples] for group in CONSUMED
            },
            cpu_percent=cpu_percent,
        )
