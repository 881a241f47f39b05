"""Officers work cases through the console on the running services, and the citizen's status
follows every step."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.cases import CaseViewed
from tests.e2e.conftest import (
    SUBMISSION,
    TINY_PDF,
    audit_entries,
    sign_in,
    upload_documents,
)
from tests.polling import eventually

Tokens = Callable[..., dict[str, str]]


class Office:
    """One service point of its own, so that other tests' cases are not in its queues; its
    officers are `<role>-<point>` unless `subjects` names one of a role."""

    def __init__(
        self,
        stack: Stack,
        http: httpx.AsyncClient,
        tokens: Tokens,
        *,
        subjects: Mapping[str, str] | None = None,
    ) -> None:
        self.point = f"MPP_{uuid.uuid4().hex[:8].upper()}"
        self.stack, self.http, self.tokens = stack, http, tokens
        self.subjects = dict(subjects or {})
        self.cases = f"{stack.service_url('processing')}/v1/cases"

    def officer(self, role: str, name: str | None = None) -> dict[str, str]:
        subject = name or self.subjects.get(role) or f"{role}-{self.point}"
        return self.tokens(role, service_point=self.point, subject=subject)

    async def submit(self) -> dict[str, Any]:
        """A request submitted at the counter, with its documents."""
        counter = self.officer("counter_officer")
        response = await self.http.post(
            f"{self.stack.service_url('intake')}/v1/requests", json=SUBMISSION, headers=counter
        )
        assert response.status_code == 202, response.text
        await upload_documents(self.http, self.stack, response.json()["request_id"], counter)
        return dict(response.json())

    async def claim_next(self, role: str, name: str | None = None) -> httpx.Response:
        return await self.http.post(
            f"{self.stack.service_url('processing')}/v1/queues/claim-next",
            headers=self.officer(role, name),
        )

    async def take(self, role: str, request_id: str) -> dict[str, Any]:
        """Claims the next case of the role once it has reached the queue."""

        async def claimed() -> dict[str, Any] | None:
            response = await self.claim_next(role)
            return dict(response.json()) if response.status_code == 200 else None

        case = await eventually(claimed, what=f"the case in the {role}'s queue")
        assert case["request_id"] == request_id
        return case

    async def step(self, role: str, request_id: str, step: str, **body: Any) -> httpx.Response:
        return await self.http.post(
            f"{self.cases}/{request_id}/{step}", json=body or None, headers=self.officer(role)
        )

    async def verify(self, request_id: str) -> httpx.Response:
        """Verifies the case once processing has learnt of its documents, which reach it as
        events after the case may already be in the verifier's queue."""

        async def answered() -> httpx.Response | None:
            response = await self.step("verifier", request_id, "verify")
            waiting = response.status_code == 409 and response.json()["error"] == (
                "documents_missing"
            )
            return None if waiting else response

        return await eventually(answered, what="the case's documents at processing")

    async def status(self, submitted: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.stack.service_url('intake')}/v1/lookup",
            json={"tracking_number": submitted["tracking_number"], "nik_last4": "0001"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def status_becomes(self, submitted: dict[str, Any], status: str) -> dict[str, Any]:
        async def reached() -> dict[str, Any] | None:
            seen = await self.status(submitted)
            return seen if seen["status"] == status else None

        return await eventually(reached, what=f"the citizen's status to be {status}")


async def test_a_request_goes_from_submission_to_completion_and_the_citizen_sees_each_step(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    office = Office(backend, http, tokens)
    submitted = await office.submit()
    request_id = submitted["request_id"]

    case = await office.take("verifier", request_id)
    assert case["state"] == "IN_VERIFICATION"
    details = await http.get(f"{office.cases}/{request_id}", headers=office.officer("verifier"))
    assert details.json()["applicant_nik"] == SUBMISSION["nik"]
    assert (await office.verify(request_id)).status_code == 200
    await office.take("signer", request_id)
    assert (await office.step("signer", request_id, "approve")).status_code == 200
    await office.take("operator", request_id)
    issued = await office.step(
        "operator", request_id, "issue", document_number="3516-KK-2026-0001", collection="VILLAGE"
    )
    assert issued.status_code == 200, issued.text
    await office.take("counter_officer", request_id)
    completed = await office.step("counter_officer", request_id, "complete")

    assert completed.json()["state"] == "COMPLETED"
    seen = await office.status_becomes(submitted, "COMPLETED")
    assert [change["status"] for change in seen["history"]] == [
        "SUBMITTED",
        "IN_VERIFICATION",
        "APPROVED",
        "ISSUED",
        "COMPLETED",
    ]
    assert "3516-KK-2026-0001" in seen["history"][3]["note"]
    assert "kantor desa" in seen["history"][3]["note"]

    async def viewed() -> list[dict[str, Any]]:
        return [
            entry
            for entry in await audit_entries(http, backend, subject=request_id)
            if entry["event_type"] == CaseViewed.event_type
        ]

    [view] = await eventually(viewed, what="the read of the case in the audit log")
    assert view["data"]["actor"]["id"] == f"verifier-{office.point}"
    assert view["data"]["actor"]["service_point"] == office.point


async def test_a_send_back_shows_the_citizen_what_to_fix_and_resubmission_resumes_it(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    office = Office(backend, http, tokens)
    submitted = await office.submit()
    request_id = submitted["request_id"]
    await office.take("verifier", request_id)

    sent_back = await office.step(
        "verifier",
        request_id,
        "request-revision",
        items=["Foto buku nikah tidak terbaca"],
        documents=["BUKU_NIKAH"],
    )

    assert sent_back.json()["state"] == "NEEDS_REVISION"
    seen = await office.status_becomes(submitted, "NEEDS_REVISION")
    assert seen["history"][-1]["note"] == "Perlu perbaikan: Foto buku nikah tidak terbaca"
    assert seen["documents_to_send_again"] == ["BUKU_NIKAH"]
    again = await office.step("verifier", request_id, "verify")
    assert again.status_code == 409
    counter = office.officer("counter_officer")
    replaced = await http.post(
        f"{backend.service_url('intake')}/v1/requests/{request_id}/documents",
        params={"requirement": "BUKU_NIKAH"},
        content=TINY_PDF,
        headers={**counter, "Content-Type": "application/pdf"},
    )
    assert replaced.status_code == 201, replaced.text

    fixed = await http.post(
        f"{backend.service_url('intake')}/v1/requests/{request_id}/resubmit",
        headers=office.officer("counter_officer"),
    )
    assert fixed.status_code == 202, fixed.text
    assert fixed.json()["status"] == "IN_VERIFICATION"
    resumed = await office.status_becomes(submitted, "IN_VERIFICATION")
    assert [change["status"] for change in resumed["history"]][-2:] == [
        "NEEDS_REVISION",
        "IN_VERIFICATION",
    ]
    case = await office.take("verifier", request_id)
    # Moved by the office time the fixing took: none at all outside office hours.
    assert case["due_at"] >= sent_back.json()["due_at"]


async def test_of_two_officers_claiming_one_case_exactly_one_wins(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    office = Office(backend, http, tokens)
    first = await office.submit()
    second = await office.submit()
    cases = office.cases

    async def opened() -> bool:
        response = await http.get(
            f"{cases}/{second['request_id']}", headers=office.officer("verifier")
        )
        return response.status_code == 200

    await eventually(opened, what="the second case to be opened")
    claims = await asyncio.gather(
        *(
            http.post(
                f"{cases}/{first['request_id']}/claim",
                json={"reason_code": "FUNERAL"},
                headers=office.officer("verifier", f"verifier-{n}"),
            )
            for n in range(6)
        )
    )
    statuses = sorted(response.status_code for response in claims)

    assert statuses == [200, 409, 409, 409, 409, 409]
    winner = next(response for response in claims if response.status_code == 200)
    assert winner.json()["claim"]["officer"].startswith("verifier-")

    async def queued() -> httpx.Response | None:
        response = await office.claim_next("verifier", "verifier-next")
        return response if response.status_code == 200 else None

    next_case = await eventually(queued, what="the other case in the queue")
    assert next_case.json()["request_id"] == second["request_id"]
    nothing = await asyncio.gather(
        *(office.claim_next("verifier", f"verifier-late-{n}") for n in range(4))
    )
    assert [response.status_code for response in nothing] == [204] * 4


async def test_another_service_points_case_is_not_found(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    office = Office(backend, http, tokens)
    elsewhere = Office(backend, http, tokens)
    submitted = await office.submit()

    async def opened() -> bool:
        response = await http.get(
            f"{office.cases}/{submitted['request_id']}", headers=office.officer("verifier")
        )
        return response.status_code == 200

    await eventually(opened, what="the case to be opened")
    response = await http.get(
        f"{office.cases}/{submitted['request_id']}", headers=elsewhere.officer("verifier")
    )

    assert response.status_code == 404


async def test_a_citizen_withdraws_a_request_and_its_case_closes(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    office = Office(backend, http, tokens)
    intake = backend.service_url("intake")
    submission = SUBMISSION | {"phone": "085700000401"}
    submitted = (await http.post(f"{intake}/v1/requests", json=submission)).json()
    citizen = await sign_in(http, backend, "+6285700000401")

    withdrawn = await http.post(
        f"{intake}/v1/requests/{submitted['request_id']}/cancel", headers=citizen
    )

    assert withdrawn.status_code == 202, withdrawn.text
    seen = await office.status_becomes(submitted, "CANCELLED")
    assert [change["status"] for change in seen["history"]] == ["SUBMITTED", "CANCELLED"]
    again = await http.post(
        f"{intake}/v1/requests/{submitted['request_id']}/cancel", headers=citizen
    )
    assert again.status_code == 409
