from __future__ import annotations

from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.cases import CaseOpened
from shared.events.models.notifications import NotificationSent
from shared.events.models.requests import RequestSubmitted
from tests.e2e.conftest import (
    SUBMISSION,
    audit_entries,
    auditor,
    sign_in,
    sink_messages,
)
from tests.polling import eventually


async def test_a_submitted_request_is_opened_notified_and_audited_in_order(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    # A number of its own: the contract tests ask for codes for the document's example number.
    submission = SUBMISSION | {"phone": "085700000301"}
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=submission)
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    tracking_number = response.json()["tracking_number"]

    async def receipt() -> list[dict[str, str]]:
        return [
            m
            for m in await sink_messages(http, backend)
            if m["to"] == "+6285700000301" and tracking_number in m["text"]
        ]

    [message] = await eventually(receipt, what="the provider to get the receipt")
    assert message["channel"] == "WHATSAPP"
    assert "GRATIS" in message["text"]

    async def three_entries() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=request_id)
        return entries if len(entries) >= 3 else None

    entries = await eventually(three_entries, what="three audit entries")
    # The receipt answers the submission, so it may be sent before or after the case opens.
    types = [entry["event_type"] for entry in entries]
    assert types[0] == RequestSubmitted.event_type
    assert sorted(types[1:]) == sorted([CaseOpened.event_type, NotificationSent.event_type])
    sequences = [entry["sequence"] for entry in entries]
    assert sequences == sorted(sequences)
    logged = str(entries)
    assert SUBMISSION["nik"] not in logged
    assert "Siti" not in logged
    assert "85700000301" not in logged

    verification = (
        await http.get(f"{backend.service_url('audit')}/v1/audit/verify", headers=auditor(backend))
    ).json()
    assert verification["valid"] is True
    assert verification["entries"] >= 3

    citizen = await sign_in(http, backend, "+6285700000301")
    status = await http.get(
        f"{backend.service_url('intake')}/v1/requests/{request_id}", headers=citizen
    )
    assert status.json()["status"] == "SUBMITTED"
    assert status.json()["applicant"]["nik"] == "************0001"


async def test_every_service_reports_ready(backend: Stack, http: httpx.AsyncClient) -> None:
    for name in ("intake", "processing", "notify", "audit"):
        response = await http.get(f"{backend.service_url(name)}/readyz")
        assert response.status_code == 200, (name, response.text)
        assert response.json()["kafka"] == "ok"
        assert response.json()["mongo"] == "ok"


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample in the text format, 0 if absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    prefix = f"{name}{{{wanted}}} " if labels else f"{name} "
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


async def test_metrics_count_database_operations_per_handled_event(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    # A number of its own: the contract tests ask for codes for the document's example number.
    submission = SUBMISSION | {"phone": "085700000301"}
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=submission)
    assert response.status_code == 202, response.text

    async def opened_once_more() -> str | None:
        text = (await http.get(f"{backend.service_url('processing')}/metrics")).text
        handled = sample(text, "adminduk_db_operations_per_event_count", group="processing")
        return text if handled >= 1 else None

    processing = await eventually(opened_once_more, what="processing to count its operations")
    events = sample(processing, "adminduk_db_operations_per_event_count", group="processing")
    operations = sample(processing, "adminduk_db_operations_per_event_sum", group="processing")
    # A submission costs processing one insert (the case); the queue slots, timers and report
    # counts its events cause are written in batches shared with other requests' events, and
    # the handlers read back nothing the writes before them left in memory, so an event costs
    # a few commands at most (`tests/integration/test_processing_cost.py` counts them exactly).
    assert 0 < operations / events <= 6
    assert sample(processing, "adminduk_db_operations_total",
                  activity="processing", command="insert") >= 1  # fmt: skip
    relay = sample(processing, "adminduk_db_operations_total",
                   activity="outbox-cases", command="update")  # fmt: skip
    assert relay >= 1
    intake = (await http.get(f"{backend.service_url('intake')}/metrics")).text
    assert sample(intake, "adminduk_db_operations_total", activity="http", command="insert") >= 1
