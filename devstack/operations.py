"""The engine operations each service sent, read from its own `/metrics`
(`adminduk_db_operations_total` by activity and command), for the budget test and benchmarks."""

from __future__ import annotations

from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

from devstack.stack import SERVICES, Stack

Operations = Counter[tuple[str, ...]]
"""Engine commands sent, by (activity, command)."""


async def operations(http: httpx.AsyncClient, stack: Stack) -> dict[str, Operations]:
    """Every service's operations so far, by service."""
    return {
        service: _counted(await _metrics(http, stack, service), "adminduk_db_operations")
        for service in SERVICES
    }


async def events_handled(http: httpx.AsyncClient, stack: Stack) -> int:
    """Events every consumer group took so far, summed over the services."""
    total = 0
    for service in SERVICES:
        total += _counted(await _metrics(http, stack, service), "adminduk_events").total()
    return total


def difference(
    after: dict[str, Operations], before: dict[str, Operations]
) -> dict[str, Operations]:
    return {service: after[service] - before[service] for service in after}


def breakdown(counts: Operations, per: float) -> str:
    """The activities that sent the operations, divided by `per`, most first."""
    return "\n".join(
        f"    {activity:<32} {command:<16} {count / per:7.2f}"
        for (activity, command), count in counts.most_common()
    )


async def _metrics(http: httpx.AsyncClient, stack: Stack, service: str) -> str:
    response = await http.get(f"{stack.service_url(service)}/metrics")
    response.raise_for_status()
    return response.text


def _counted(text: str, family_name: str) -> Operations:
    """A counter family's samples by their label values, in the labels' name order."""
    counts: Operations = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != family_name:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = tuple(value for name, value in sorted(sample.labels.items()))
                counts[key] += int(sample.value)
    return counts
