"""Integrity alerts: the engine that follows the log with the rules, and auditors' use cases.

The engine reads the stored log by index from where it stopped, applies the rules to each entry,
stores each alert (with its `IntegrityAlert` event in the alert's outbox), then saves the parts of
the rules' memory that the entries changed and, last, its position. Alert ids come from the rule
and the triggering entry and are inserted only if new, so a restart between storing alerts and
saving the position raises each of them once: the same entries, replayed on the saved memory
(which may hold them already: the rules are idempotent by entry index), find the same alerts.
Of two audit instances, the one whose save still names the position it started from wins; the
other stands aside for `stand_aside` before it loads the new position's memory and tries again,
so that the two do not each read the whole log and, turn about, the whole memory: the one that
wins goes on, and the other takes over within that time if it stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from services.audit.domain.alerts import Alert, ServicePointSummary, summarise
from services.audit.domain.integrity.context import Context
from services.audit.domain.integrity.findings import Finding
from services.audit.domain.integrity.memory import RuleMemory
from services.audit.domain.integrity.rules import evaluate
from services.audit.service_layer.ports import (
    AlertStore,
    CheckpointStore,
    EngineProgress,
    LogEntries,
    TreeNodes,
)
from services.audit.service_layer.tree import InclusionProof, ProofRefused, inclusion_proof
from shared.clock import Clock
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.integrity import (
    IntegrityAlert,
    IntegrityAlertAcknowledged,
    IntegrityAlertResolved,
)

SOURCE = "/adminduk/audit"


class IntegrityEngine:
    """Follows the log with the integrity rules; `run` is the polling loop's sweep."""

    def __init__(
        self,
        *,
        entries: LogEntries,
        progress: EngineProgress,
        alerts: AlertStore,
        context: Context,
        clock: Clock,
        batch: int = 500,
        stand_aside: timedelta = timedelta(seconds=30),
    ) -> None:
        self._entries = entries
        self._progress = progress
        self._alerts = alerts
        self._context = context
        self._clock = clock
        self._batch = batch
        self._stand_aside = stand_aside
        self._held: tuple[int, RuleMemory] | None = None
        self._aside_until: datetime | None = None

    async def run(self) -> int:
        """Reads every entry not yet read, in batches; returns how many alerts it raised."""
        raised = 0
        while (step := await self._next_batch()) is not None:
            raised += step
        return raised

    async def _next_batch(self) -> int | None:
        if self._aside_until is not None and self._clock() < self._aside_until:
            return None
        position, memory = await self._memory()
        end = min(self._entries.end(), position + self._batch)
        entries = await self._entries.following(position, end) if end > position else []
        if not entries:
            return None
        self._held = None  # the memory changes below: a batch that fails starts from the saved one
        raised = 0
        for finding in _merged(
            f for entry in entries for f in evaluate(memory, entry, self._context)
        ):
            alert = Alert.raised(finding, at=self._clock())
            if finding.grown:
                await self._alerts.extend(alert)
                continue
            if await self._alerts.outgoing.commit(
                alert.alert_id,
                [_raised_event(alert)],
                partial(self._alerts.add, alert),
                source=SOURCE,
                time=alert.raised_at,
            ):
                raised += 1
        last_seen = max(entry.event_time for entry in entries)
        memory.forget_before(
            _parsed(last_seen) - timedelta(days=self._context.thresholds.memory_days)
        )
        end = entries[-1].index + 1
        if await self._progress.save(end, memory.take_changes(), previous=position):
            self._held = (end, memory)
        else:
            self._held = None
            self._aside_until = self._clock() + self._stand_aside
        return raised

    async def _memory(self) -> tuple[int, RuleMemory]:
        """The saved position and memory; kept from the last save, which names the position it
        moves from, so a save after another instance's fails and the next batch loads theirs."""
        if self._held is None:
            self._held = await self._progress.load()
        return self._held


def _merged(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per alert, the last (with the most evidence); one still to be raised if the
    batch raised it first."""
    merged: dict[str, Finding] = {}
    for finding in findings:
        earlier = merged.get(finding.alert_id)
        grown = finding.grown and (earlier is None or earlier.grown)
        merged[finding.alert_id] = replace(finding, grown=grown)
    return list(merged.values())


def _parsed(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def _raised_event(alert: Alert) -> IntegrityAlert:
    return IntegrityAlert(
        actor=Actor.system("audit"),
        alert_id=alert.alert_id,
        rule=alert.rule.value,
        index=alert.index,
        evidence=list(alert.evidence),
        officers=list(alert.officers),
        service_point=alert.service_point,
        about=alert.about,
        summary=alert.summary,
        occurred_at=alert.occurred_at,
    )


class AlertNotFound(Refusal):
    """No alert has this id."""

    def __init__(self, alert_id: str) -> None:
        super().__init__("not_found", "Peringatan tidak ditemukan.", Kind.NOT_FOUND)
        self.alert_id = alert_id


@dataclass(frozen=True)
class Evidence:
    index: int
    proof: InclusionProof | None
    """None while the entry is not yet in a signed checkpoint."""


async def alert_with_evidence(
    *, alerts: AlertStore, nodes: TreeNodes, checkpoints: CheckpointStore, alert_id: str
) -> tuple[Alert, list[Evidence]]:
    """The alert and, for each entry of its evidence, its inclusion proof in the latest signed
    tree, so an auditor can check that the entries are the log's."""
    alert = await alerts.get(alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    evidence = []
    for index in alert.evidence:
        try:
            proof: InclusionProof | None = await inclusion_proof(
                nodes=nodes, checkpoints=checkpoints, index=index, tree_size=None
            )
        except ProofRefused:
            proof = None
        evidence.append(Evidence(index=index, proof=proof))
    return alert, evidence


async def acknowledge_alert(
    *, alerts: AlertStore, alert_id: str, auditor: Actor, clock: Clock
) -> Alert:
    """Marks the alert taken up by `auditor`; AlertTransitionRefused unless it is open."""
    now = clock()
    return await _step(
        alerts=alerts,
        alert_id=alert_id,
        change=lambda alert: alert.acknowledge(by=auditor.id, at=now),
        event=lambda alert: IntegrityAlertAcknowledged(
            actor=auditor, alert_id=alert.alert_id, at=now
        ),
        now=now,
    )


async def resolve_alert(
    *,
    alerts: AlertStore,
    alert_id: str,
    auditor: Actor,
    note: str,
    clock: Clock,
) -> Alert:
    """Closes the alert with the auditor's note; AlertTransitionRefused once resolved."""
    now = clock()
    return await _step(
        alerts=alerts,
        alert_id=alert_id,
        change=lambda alert: alert.resolve(by=auditor.id, at=now, note=note),
        event=lambda alert: IntegrityAlertResolved(
            actor=auditor, alert_id=alert.alert_id, note=alert.note or "", at=now
        ),
        now=now,
    )


async def _step(
    *,
    alerts: AlertStore,
    alert_id: str,
    change: Callable[[Alert], Alert],
    event: Callable[[Alert], Event],
    now: datetime,
) -> Alert:
    """Applies `change` to the current alert; if another auditor changed it meanwhile, judges
    the step again on what they left."""
    while True:
        before = await alerts.get(alert_id)
        if before is None:
            raise AlertNotFound(alert_id)
        after = change(before)
        if await alerts.outgoing.commit(
            alert_id, [event(after)], partial(alerts.change, before, after), source=SOURCE, time=now
        ):
            return after


async def integrity_summary(
    *, alerts: AlertStore, month: str, page: int = 1000
) -> list[ServicePointSummary]:
    """The month's alerts summarised per service point."""
    found: list[Alert] = []
    while True:
        batch = await alerts.find(
            status=None, rule=None, service_point=None, month=month, offset=len(found), limit=page
        )
        found += batch
        if len(batch) < page:
            return summarise(found, month=month)
