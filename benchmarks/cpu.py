"""CPU time per kind of process, from /proc: what each part of the stack costs.

Each stack process leads its own process group; a kind's CPU time is that of every process in the
group or descended from its leader (PostgreSQL's backends start new sessions of their own). A
process counts its own time and that of the children it has reaped, so the sum over the living
processes loses nothing that ended during the window.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.stack import Stack

CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
THIS_PROCESS = "load generator"
"""The kind this benchmark's own process is counted as: it shares the CPUs with the stack."""


@dataclass(frozen=True)
class ProcStat:
    ppid: int
    pgid: int
    cpu_s: float
    """utime + stime + cutime + cstime (fields 14 to 17 of proc(5))."""


def _stat(pid: str) -> ProcStat | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The fields after the command name, which may hold spaces and parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = sum(int(value) for value in fields[11:15])
    return ProcStat(ppid=int(fields[1]), pgid=int(fields[2]), cpu_s=ticks / CLOCK_TICKS_PER_S)


def _kind(pid: int, stats: Mapping[int, ProcStat], leaders: Mapping[int, str]) -> str | None:
    """The kind whose leader is this process, leads its group or is one of its ancestors."""
    while pid in stats:
        stat = stats[pid]
        kind = leaders.get(pid) or leaders.get(stat.pgid)
        if kind is not None:
            return kind
        pid = stat.ppid
    return None


def cpu_seconds(groups: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each kind, given the pid of each kind's group leader."""
    stats = {
        int(entry.name): stat
        for entry in os.scandir("/proc")
        if entry.name.isdigit() and (stat := _stat(entry.name)) is not None
    }
    leaders = {pid: kind for kind, pid in groups.items()}
    used = dict.fromkeys(groups, 0.0)
    for pid, stat in stats.items():
        kind = _kind(pid, stats, leaders)
        if kind is not None:
            used[kind] += stat.cpu_s
    own = _stat("self")
    used[THIS_PROCESS] = own.cpu_s if own is not None else 0.0
    return used


def stolen_seconds() -> float:
    """CPU seconds the hypervisor gave other machines since boot, over all CPUs (`steal` in
    proc(5)'s /proc/stat); 0 where the kernel does not count it."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    return int(fields[8]) / CLOCK_TICKS_PER_S if len(fields) > 8 else 0.0


def process_groups(stack: Stack) -> dict[str, int]:
    """Each stack process kind and its process group id (its leader's pid)."""
    return {
        name: process.pid for name, process in stack.processes.items() if process.pid is not None
    }


class CpuMeter:
    """CPU seconds each process kind uses while a block runs."""

    def __init__(self, groups: Mapping[str, int]) -> None:
        self._groups = groups
        self._before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self._before = cpu_seconds(self._groups)
        return self

    def __exit__(self, *exc_info: object) -> None:
        after = cpu_seconds(self._groups)
        self.used = {kind: after[kind] - self._before[kind] for kind in after}
