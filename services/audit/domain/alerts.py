"""Integrity alerts as auditors follow them up, and the monthly integrity summary.

An alert is OPEN when raised; an auditor ACKNOWLEDGES it (takes it up) and RESOLVES it with a
note of what was found or done. An open alert may be resolved at once; a resolved one is final.
Months are Jakarta (WIB) months of when the triggering event happened.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from services.audit.domain.integrity.findings import Finding, Rule
from shared.calendar import JAKARTA
from shared.errors import Kind, Refusal

UNKNOWN_SERVICE_POINT = "TIDAK_DIKETAHUI"
"""Where alerts are counted whose entries name no service point."""


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    RESOLVED = "RESOLVED"


class Severity(StrEnum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


SEVERITY: dict[Rule, Severity] = {
    Rule.SELF_DEALING: Severity.HIGH,
    Rule.ILLEGAL_FEE: Severity.HIGH,
    Rule.QUEUE_JUMP: Severity.MEDIUM,
    Rule.BULK_READS: Severity.MEDIUM,
    Rule.BREACH_PATTERN: Severity.MEDIUM,
    Rule.DEADLINE_BREACH: Severity.MEDIUM,
    Rule.REPEATED_SEND_BACKS: Severity.LOW,
    Rule.OFF_HOURS: Severity.LOW,
}
"""How much a rule's alert weighs: a citizen or the office wronged for gain first, then work
done unfairly or late, then what may well be innocent (weekend overtime, a hard case)."""
RANK = {Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}


class AlertOrder(StrEnum):
    NEWEST = "newest"
    """Newest triggering entry first."""
    SEVERITY = "severity"
    """Most severe first, newest first within a severity."""
    RULE = "rule"
    """By rule name, newest first within a rule."""


def rules_of(severity: Severity) -> tuple[Rule, ...]:
    return tuple(rule for rule, weight in SEVERITY.items() if weight is severity)


class AlertTransitionRefused(Refusal):
    """The alert is not in a state that allows the step; the message is Indonesian."""

    def __init__(self, message: str) -> None:
        super().__init__("wrong_state", message, Kind.CONFLICT)


class NoteRequired(Refusal):
    """An alert is resolved with a note saying how."""

    def __init__(self) -> None:
        super().__init__(
            "invalid_request",
            "Catatan penyelesaian wajib diisi.",
            Kind.INVALID,
            details={"body.note": "Wajib diisi."},
        )


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule: Rule
    index: int
    evidence: tuple[int, ...]
    officers: tuple[str, ...]
    service_point: str | None
    about: str
    summary: str
    occurred_at: datetime
    raised_at: datetime
    status: AlertStatus = AlertStatus.OPEN
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None

    @classmethod
    def raised(cls, finding: Finding, *, at: datetime) -> Alert:
        return cls(
            alert_id=finding.alert_id,
            rule=finding.rule,
            index=finding.index,
            evidence=finding.evidence,
            officers=finding.officers,
            service_point=finding.service_point,
            about=finding.about,
            summary=finding.summary,
            occurred_at=finding.occurred_at,
            raised_at=at,
        )

    @property
    def month(self) -> str:
        return month_of(self.occurred_at)

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.rule]

    def acknowledge(self, *, by: str, at: datetime) -> Alert:
        if self.status is not AlertStatus.OPEN:
            raise AlertTransitionRefused(
                f"Peringatan berstatus {self.status} tidak dapat diterima."
            )
        return replace(
            self, status=AlertStatus.ACKNOWLEDGED, acknowledged_by=by, acknowledged_at=at
        )

    def resolve(self, *, by: str, at: datetime, note: str) -> Alert:
        if self.status is AlertStatus.RESOLVED:
            raise AlertTransitionRefused("Peringatan ini sudah diselesaikan.")
        if not note.strip():
            raise ValueError("a resolution needs a note")
        return replace(
            self, status=AlertStatus.RESOLVED, resolved_by=by, resolved_at=at, note=note.strip()
        )

    @property
    def time_to_resolve_s(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.raised_at).total_seconds()


def order_key(order: AlertOrder) -> Callable[[Alert], tuple[int | str, ...]]:
    """How `order` sorts alerts: what the stores sort by, as a function."""
    if order is AlertOrder.SEVERITY:
        return lambda alert: (-RANK[alert.severity], -alert.index)
    if order is AlertOrder.RULE:
        return lambda alert: (alert.rule.value, -alert.index)
    return lambda alert: (-alert.index,)


def month_of(moment: datetime) -> str:
    """`2025-03`: the WIB month of an instant."""
    return moment.astimezone(JAKARTA).strftime("%Y-%m")


@dataclass(frozen=True)
class ServicePointSummary:
    service_point: str
    by_rule: dict[Rule, int]
    by_status: dict[AlertStatus, int]
    median_resolve_s: float | None
    max_resolve_s: float | None

    @property
    def total(self) -> int:
        return sum(self.by_rule.values())


def summarise(alerts: Iterable[Alert], *, month: str) -> list[ServicePointSummary]:
    """Per service point, the alerts of `month`: counts by rule (every rule, zeros included) and
    by status, and the median and longest time from raising to resolving."""
    grouped: dict[str, list[Alert]] = {}
    for alert in alerts:
        if alert.month == month:
            grouped.setdefault(alert.service_point or UNKNOWN_SERVICE_POINT, []).append(alert)
    summaries = []
    for service_point, group in sorted(grouped.items()):
        rules = Counter(alert.rule for alert in group)
        statuses = Counter(alert.status for alert in group)
        durations = [s for alert in group if (s := alert.time_to_resolve_s) is not None]
        summaries.append(
            ServicePointSummary(
                service_point=service_point,
                by_rule={rule: rules[rule] for rule in Rule},
                by_status={status: statuses[status] for status in AlertStatus},
                median_resolve_s=statistics.median(durations) if durations else None,
                max_resolve_s=max(durations) if durations else None,
            )
        )
    return summaries
