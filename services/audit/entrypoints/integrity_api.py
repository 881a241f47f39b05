"""Auditors' API for integrity alerts: list, read with evidence and proofs, acknowledge, resolve,
and the monthly summary per service point (JSON, or a page with charts).

Each evidence entry comes with its RFC 9162 inclusion proof in the latest signed checkpoint, so an
auditor can check with the offline verifier that the entries an alert rests on are the log's.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.audit.domain.alerts import (
    Alert,
    AlertOrder,
    AlertStatus,
    NoteRequired,
    ServicePointSummary,
    Severity,
    month_of,
)
from services.audit.domain.integrity.findings import Rule
from services.audit.service_layer import integrity
from services.audit.service_layer.ports import AlertStore, CheckpointStore, TreeNodes
from services.audit.templates.integrity_summary import render_summary
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.events.envelope import Actor, ActorKind, Channel
from shared.http.error_bodies import error_responses
from shared.identity import Principal

MAX_PAGE = 200
MONTH = r"^20\d\d-(0[1-9]|1[0-2])$"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class IntegrityContext:
    alerts: AlertStore
    nodes: TreeNodes
    checkpoints: CheckpointStore
    clock: Clock


ContextDep = Annotated[IntegrityContext, Depends(provided(IntegrityContext))]
AlertIdPath = Annotated[
    str, Path(pattern=r"^[a-z_]{1,40}-\d{1,19}$", description="`{rule}-{index}`.")
]


class AlertView(BaseModel):
    alert_id: str = Field(description="`{rule}-{index}`: the rule and the entry that triggered it.")
    rule: Rule
    severity: Severity = Field(description="How much the rule's alerts weigh.")
    index: int = Field(description="The log index of the triggering entry.")
    evidence: list[int] = Field(description="Log indexes of the entries that show it.")
    officers: list[str] = Field(description="The officers it is about (token subjects).")
    service_point: str | None = Field(description="The service point it is counted for.")
    about: str = Field(description="The request, letter or complaint it is about.")
    summary: str = Field(description="What happened, in Indonesian.")
    occurred_at: datetime
    raised_at: datetime
    status: AlertStatus
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None = Field(description="The auditor's resolution note.")

    @classmethod
    def of(cls, alert: Alert) -> AlertView:
        return cls(
            alert_id=alert.alert_id,
            rule=alert.rule,
            severity=alert.severity,
            index=alert.index,
            evidence=list(alert.evidence),
            officers=list(alert.officers),
            service_point=alert.service_point,
            about=alert.about,
            summary=alert.summary,
            occurred_at=alert.occurred_at,
            raised_at=alert.raised_at,
            status=alert.status,
            acknowledged_by=alert.acknowledged_by,
            acknowledged_at=alert.acknowledged_at,
            resolved_by=alert.resolved_by,
            resolved_at=alert.resolved_at,
            note=alert.note,
        )


class AlertsPage(BaseModel):
    alerts: list[AlertView] = Field(description="Newest trigger first.")
    next_offset: int | None = Field(description="The `offset` of the next page; none after it.")


class EvidenceView(BaseModel):
    index: int = Field(description="The entry's log index.")
    tree_size: int | None = Field(description="The signed tree the proof is for.")
    leaf_hash: str | None = Field(description="The entry's leaf hash in that tree, base64.")
    proof: list[str] | None = Field(
        description="The audit path, nearest the leaf first; none while the entry is not yet in "
        "a signed checkpoint."
    )


class AlertDetailView(AlertView):
    evidence_proofs: list[EvidenceView] = Field(
        description="Each evidence entry with its inclusion proof in the latest checkpoint."
    )


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(
        min_length=1, max_length=2000, description="What was found or done, in a few words."
    )


class SummaryRow(BaseModel):
    service_point: str
    by_rule: dict[Rule, int] = Field(description="Alerts per rule, every rule listed.")
    by_status: dict[AlertStatus, int]
    total: int
    median_resolve_s: float | None = Field(description="Median seconds from raising to resolving.")
    max_resolve_s: float | None = Field(description="Longest seconds from raising to resolving.")

    @classmethod
    def of(cls, summary: ServicePointSummary) -> SummaryRow:
        return cls(
            service_point=summary.service_point,
            by_rule=summary.by_rule,
            by_status=summary.by_status,
            total=summary.total,
            median_resolve_s=summary.median_resolve_s,
            max_resolve_s=summary.max_resolve_s,
        )


class IntegritySummaryView(BaseModel):
    month: str = Field(description="YYYY-MM, a month in Asia/Jakarta.")
    service_points: list[SummaryRow]


router = APIRouter(prefix="/v1/audit", tags=["integrity"])
MonthQuery = Annotated[
    str | None,
    Query(pattern=MONTH, examples=["2026-11"], description="YYYY-MM (WIB); by default this month."),
]


@router.get("/alerts", responses=error_responses(422, 503))
async def list_alerts(
    context: ContextDep,
    status_: Annotated[AlertStatus | None, Query(alias="status")] = None,
    rule: Rule | None = None,
    severity: Severity | None = None,
    service_point: Annotated[
        str | None, Query(pattern=r"^[A-Z][A-Z0-9_]{0,39}$", description="A service point code.")
    ] = None,
    month: Annotated[
        str | None, Query(pattern=MONTH, description="YYYY-MM (WIB) of the triggering event.")
    ] = None,
    sort: Annotated[
        AlertOrder,
        Query(description="`newest` trigger first, most `severity` first, or by `rule` name."),
    ] = AlertOrder.NEWEST,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> AlertsPage:
    """Filters combine; each sort is newest first within its groups."""
    alerts = await context.alerts.find(
        status=status_,
        rule=rule,
        severity=severity,
        order=sort,
        service_point=service_point,
        month=month,
        offset=offset,
        limit=limit,
    )
    return AlertsPage(
        alerts=[AlertView.of(alert) for alert in alerts],
        next_offset=offset + limit if len(alerts) == limit else None,
    )


@router.get("/alerts/{alert_id}", responses=error_responses(404, 422, 503))
async def get_alert(alert_id: AlertIdPath, context: ContextDep) -> AlertDetailView:
    alert, evidence = await integrity.alert_with_evidence(
        alerts=context.alerts,
        nodes=context.nodes,
        checkpoints=context.checkpoints,
        alert_id=alert_id,
    )
    return AlertDetailView(
        **AlertView.of(alert).model_dump(),
        evidence_proofs=[
            EvidenceView(
                index=item.index,
                tree_size=None if item.proof is None else item.proof.tree_size,
                leaf_hash=None if item.proof is None else _encoded(item.proof.leaf_hash),
                proof=None if item.proof is None else [_encoded(h) for h in item.proof.proof],
            )
            for item in evidence
        ],
    )


@router.post("/alerts/{alert_id}/acknowledge", responses=error_responses(404, 409, 422, 503))
async def acknowledge(alert_id: AlertIdPath, context: ContextDep, caller: CallerDep) -> AlertView:
    """Takes the alert up; only an open alert can be."""
    alert = await integrity.acknowledge_alert(
        alerts=context.alerts,
        alert_id=alert_id,
        auditor=_auditor(caller),
        clock=context.clock,
    )
    return AlertView.of(alert)


@router.post("/alerts/{alert_id}/resolve", responses=error_responses(404, 409, 422, 503))
async def resolve(
    alert_id: AlertIdPath, body: ResolveBody, context: ContextDep, caller: CallerDep
) -> AlertView:
    """Closes the alert with a note; a resolved alert cannot be resolved again."""
    if not body.note.strip():
        raise NoteRequired
    alert = await integrity.resolve_alert(
        alerts=context.alerts,
        alert_id=alert_id,
        auditor=_auditor(caller),
        note=body.note,
        clock=context.clock,
    )
    return AlertView.of(alert)


@router.get(
    "/integrity-summary",
    response_model=IntegritySummaryView,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **error_responses(422, 503),
    },
)
async def summary(request: Request, context: ContextDep, month: MonthQuery = None) -> Response:
    """Per service point: alerts by rule and by status, and times to resolve. `Accept:
    text/html` gives the page that `/integrity-summary.html` gives."""
    chosen = month or month_of(context.clock())
    summaries = await integrity.integrity_summary(alerts=context.alerts, month=chosen)
    if "text/html" in request.headers.get("accept", ""):
        return Response(render_summary(chosen, summaries), media_type=HTML_TYPE)
    view = IntegritySummaryView(
        month=chosen, service_points=[SummaryRow.of(item) for item in summaries]
    )
    return Response(view.model_dump_json(), media_type="application/json")


@router.get(
    "/integrity-summary.html",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **error_responses(422, 503),
    },
)
async def summary_page(context: ContextDep, month: MonthQuery = None) -> Response:
    """The summary as a self-contained page with bar charts, in Indonesian."""
    chosen = month or month_of(context.clock())
    summaries = await integrity.integrity_summary(alerts=context.alerts, month=chosen)
    return Response(render_summary(chosen, summaries), media_type=HTML_TYPE)


def _auditor(caller: Principal | None) -> Actor:
    if caller is None:
        raise ApiError(status.HTTP_401_UNAUTHORIZED, "unauthorized", "Token diperlukan.")
    return Actor(
        kind=ActorKind.STAFF,
        id=caller.subject,
        role="auditor",
        service_point=caller.service_point,
        channel=Channel.API,
    )


def _encoded(hash_: bytes) -> str:
    return base64.b64encode(hash_).decode()
