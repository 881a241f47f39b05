"""When each request reached each stage, read from the audit log's event times.

Every service stamps its event when it happens, so the audit log tells how long a request took to
be opened as a case and to be notified, without instrumenting the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import httpx

from devstack.stack import Stack

PAGE = 1000
POLL_INTERVAL_S = 1.0
PAGE_TIMEOUT_S = 30.0
VERIFY_TIMEOUT_S = 600.0
"""Verification re-reads the whole log, while the backlog a run left may still be draining."""
ENTRIES_PER_REQUEST = 3
STAGES = {"case opened": "opened", "notification sent": "sent"}
"""Stage name and the event (second-to-last part of the event type) that ends it."""


class AuditTimes:
    """The event times per request, read page by page; later reads start where the last ended."""

    def __init__(self, audit_url: str, headers: Mapping[str, str]) -> None:
        self._audit_url = audit_url
        self._headers = dict(headers)
        self._after = 0
        self.times: dict[str, dict[str, datetime]] = {}

    async def catch_up(self, http: httpx.AsyncClient) -> None:
        while True:
            response = await http.get(
                f"{self._audit_url}/v1/audit/entries",
                params={"after_sequence": self._after, "limit": PAGE},
                headers=self._headers,
            )
            if response.status_code == httpx.codes.SERVICE_UNAVAILABLE:
                # Busy past its database deadline: the caller asks again, within its own deadline.
                return
            response.raise_for_status()
            page = response.json()
            for entry in page["entries"]:
                event = entry["event_type"].split(".")[-2]
                self.times.setdefault(entry["subject"], {})[event] = datetime.fromisoformat(
                    entry["event_time"]
                )
                self._after = entry["sequence"]
            if page["next_after_sequence"] is None:
                return

    def missing(self, request_ids: Collection[str]) -> int:
        """How many of the requests do not have all their entries yet."""
        return sum(
            len(self.times.get(request_id, {})) < ENTRIES_PER_REQUEST for request_id in request_ids
        )

    async def wait_for(self, request_ids: Collection[str], timeout_s: float) -> bool:
        """Reads until every request has all its entries; False if timeout_s passed first.

        A page that does not come in time (the audit service still busy) is asked for again.
        """
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=PAGE_TIMEOUT_S) as http:
            while True:
                with contextlib.suppress(httpx.TimeoutException):
                    await self.catch_up(http)
                    if not self.missing(request_ids):
                        return True
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(POLL_INTERVAL_S)

    def stage_seconds(self, request_ids: Collection[str]) -> dict[str, dict[str, float]]:
        """Seconds from submission to each stage, per request that reached it."""
        stages: dict[str, dict[str, float]] = {stage: {} for stage in STAGES}
        for request_id in request_ids:
            moments = self.times.get(request_id, {})
            if "submitted" not in moments:
                continue
            for stage, event in STAGES.items():
                if event in moments:
                    elapsed = moments[event] - moments["submitted"]
                    stages[stage][request_id] = elapsed.total_seconds()
        return stages


def auditor(stack: Stack) -> dict[str, str]:
    """An auditor's token from the stack's issuer, valid longer than any benchmark runs."""
    return {"Authorization": f"Bearer {stack.mint_token('auditor', lifetime_s=12 * 3600)}"}


async def verify(audit_url: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The audit service's check of the whole log: every entry, checkpoint and their consistency."""
    async with httpx.AsyncClient(timeout=VERIFY_TIMEOUT_S) as http:
        response = await http.get(f"{audit_url}/v1/audit/verify", headers=dict(headers))
        response.raise_for_status()
        verification: dict[str, Any] = response.json()
        return verification
