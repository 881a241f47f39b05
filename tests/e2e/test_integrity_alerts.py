"""An illegal-fee complaint about a real request, through the running backend: audit raises an
alert naming the officers who handled the request, with proofs of its evidence, and an auditor
acknowledges and resolves it."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from devstack.stack import Stack
from services.audit.domain.merkle import verify_inclusion
from tests.e2e.conftest import SUBMISSION, audit_entries
from tests.polling import eventually

Tokens = Callable[..., dict[str, str]]


async def test_an_illegal_fee_complaint_is_alerted_with_its_officers_then_resolved(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    point = f"MPP_{uuid.uuid4().hex[:8].upper()}"
    counter_officer, verifier = f"counter-{point}", f"verifier-{point}"
    submitted = await http.post(
        f"{backend.service_url('intake')}/v1/requests",
        json=SUBMISSION,
        headers=tokens("counter_officer", service_point=point, subject=counter_officer),
    )
    assert submitted.status_code == 202, submitted.text
    request = submitted.json()

    async def claimed() -> dict[str, Any] | None:
        response = await http.post(
            f"{backend.service_url('processing')}/v1/queues/claim-next",
            headers=tokens("verifier", service_point=point, subject=verifier),
        )
        return dict(response.json()) if response.status_code == 200 else None

    case = await eventually(claimed, what="the case in the verifier's queue")
    assert case["request_id"] == request["request_id"]
    complaint = await http.post(
        f"{backend.service_url('intake')}/v1/complaints",
        json={
            "category": "ILLEGAL_FEE",
            "description": "Petugas meminta uang agar KK cepat jadi.",
            "tracking_number": request["tracking_number"],
            "anonymous": True,
        },
    )
    assert complaint.status_code == 201, complaint.text

    audit = f"{backend.service_url('audit')}/v1/audit"
    auditor = tokens("auditor", subject="auditor-integritas")

    async def alerted() -> dict[str, Any] | None:
        response = await http.get(
            f"{audit}/alerts", params={"rule": "ILLEGAL_FEE", "limit": 200}, headers=auditor
        )
        assert response.status_code == 200, response.text
        return next(
            (a for a in response.json()["alerts"] if a["about"] == request["request_id"]), None
        )

    alert = await eventually(alerted, what="the illegal-fee alert")
    assert alert["status"] == "OPEN"
    assert {counter_officer, verifier} <= set(alert["officers"])
    assert alert["service_point"] == point

    async def proven() -> tuple[dict[str, Any], bytes] | None:
        """The alert with proofs of all its evidence, and the root they prove against."""
        detail = await http.get(f"{audit}/alerts/{alert['alert_id']}", headers=auditor)
        checkpoint = await http.get(f"{audit}/checkpoint", headers=auditor)
        assert detail.status_code == 200, detail.text
        if checkpoint.status_code == 404:
            return None  # a fresh log's first checkpoint is not signed yet
        assert checkpoint.status_code == 200, checkpoint.text
        body = dict(detail.json())
        _, size, root = checkpoint.text.splitlines()[:3]
        sizes = {item["tree_size"] for item in body["evidence_proofs"]}
        return (body, base64.b64decode(root)) if sizes == {int(size)} else None

    detail, root = await eventually(proven, what="proofs of every evidence entry")
    entries = {e["index"]: e for e in await audit_entries(http, backend)}
    for item in detail["evidence_proofs"]:
        assert entries[item["index"]]["leaf_hash"] == item["leaf_hash"]
        assert verify_inclusion(
            index=item["index"],
            size=item["tree_size"],
            leaf=base64.b64decode(item["leaf_hash"]),
            proof=[base64.b64decode(h) for h in item["proof"]],
            root=root,
        )
    evidence_types = {entries[index]["event_type"] for index in detail["evidence"]}
    assert "id.go.adminduk.complaint.filed.v1" in evidence_types
    assert "id.go.adminduk.case.claimed.v1" in evidence_types

    acknowledged = await http.post(
        f"{audit}/alerts/{alert['alert_id']}/acknowledge", headers=auditor
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_by"] == "auditor-integritas"
    resolved = await http.post(
        f"{audit}/alerts/{alert['alert_id']}/resolve",
        json={"note": "Petugas diperiksa Inspektorat; uang dikembalikan."},
        headers=auditor,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "RESOLVED"
    again = await http.post(
        f"{audit}/alerts/{alert['alert_id']}/resolve", json={"note": "lagi"}, headers=auditor
    )
    assert again.status_code == 409

    async def logged_steps() -> list[dict[str, Any]] | None:
        found = await audit_entries(http, backend, subject=alert["alert_id"])
        types = [entry["event_type"].split(".")[-2] for entry in found]
        done = {"alert_raised", "alert_acknowledged", "alert_resolved"} <= set(types)
        return found if done else None

    steps = await eventually(logged_steps, what="the alert's steps in the audit log")
    assert "uang dikembalikan" not in str(steps)
