"""What the figures were measured on: they only compare on the same kind of machine."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpus: int
    """CPUs this process may run on (what `nproc` prints)."""
    ram_gib: float
    cpu_model: str
    kernel: str
    python: str
    date: str


def _proc_value(path: str, key: str) -> str:
    for line in Path(path).read_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return "unknown"


def this_machine() -> Machine:
    mem_kib = _proc_value("/proc/meminfo", "MemTotal").split()[0]
    return Machine(
        cpus=len(os.sched_getaffinity(0)),
        ram_gib=round(int(mem_kib) / 1024**2, 1) if mem_kib.isdigit() else 0.0,
        cpu_model=_proc_value("/proc/cpuinfo", "model name"),
        kernel=platform.release(),
        python=platform.python_version(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
