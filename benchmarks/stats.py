"""Small summaries of measured values, tolerant of the few-sample cases short runs produce."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

Percentiles = dict[str, float | None]


def percentiles(values: Sequence[float]) -> Percentiles:
    """p50, p95, p99 and max; None for no values, so an empty stage shows as missing, not 0."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0], "max": values[0]}
    cut = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cut[49], "p95": cut[94], "p99": cut[98], "max": max(values)}


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares growth of y per unit of x; 0 when there are too few distinct points."""
    if len({x for x, _ in points}) < 2:
        return 0.0
    xs, ys = zip(*points, strict=True)
    return statistics.linear_regression(xs, ys).slope


def ratio(figure: float | None, ceiling: float | None) -> float | None:
    if figure is None or not ceiling:
        return None
    return figure / ceiling
