from __future__ import annotations

from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models import CaseOpened, NotificationSent, RequestSubmitted
from tests.e2e.conftest import SUBMISSION, audit_entries, eventually, sink_messages


async def test_a_submitted_request_is_opened_notified_and_audited_in_order(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    response = await http.post(f"{backend.service_url('intake')}/v1/requests", json=SUBMISSION)
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]

    async def message_for_request() -> list[dict[str, str]]:
        return [m for m in await sink_messages(http, backend) if request_id in m["text"]]

    [message] = await eventually(message_for_request, what="the provider to get the message")
    assert message["to"] == "+6281234567890"
    assert message["channel"] == "WHATSAPP"
    assert "GRATIS" in message["text"]

    async def three_entries() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=request_id)
        return entries if len(entries) >= 3 else None

    entries = await eventually(three_entries, what="three audit entries")
    assert [entry["event_type"] for entry in entries] == [
        RequestSubmitted.event_type,
        CaseOpened.event_type,
        NotificationSent.event_type,
    ]
    sequences = [entry["sequence"] for entry in entries]
    assert sequences == sorted(sequences)
    logged = str(entries)
    assert SUBMISSION["nik"] not in logged
    assert "Siti" not in logged
    assert "81234567890" not in logged

    verification = (await http.get(f"{backend.service_url('audit')}/v1/audit/verify")).json()
    assert verification["valid"] is True
    assert verification["entries"] >= 3

    status = await http.get(f"{backend.service_url('intake')}/v1/requests/{request_id}")
    assert status.json()["status"] == "SUBMITTED"


async def test_every_service_reports_ready(backend: Stack, http: httpx.AsyncClient) -> None:
    for name in ("intake", "processing", "notify", "audit"):
        response = await http.get(f"{backend.service_url(name)}/readyz")
        assert response.status_code == 200, (name, response.text)
        assert response.json()["kafka"] == "ok"
        assert response.json()["mongo"] == "ok"
