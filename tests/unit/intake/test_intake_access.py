"""Who sees which request at intake, and the public routes' limits."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from services.intake.domain.citizen_request import RequestStatus
from tests.auth import bearer
from tests.builders import nik
from tests.unit.intake.test_intake_api import FORM, Intake, answering, running_intake

OWN_VILLAGE = "3516010001"
OTHER_VILLAGE = "3516010002"


@pytest.fixture
async def intake() -> AsyncIterator[Intake]:
    async with running_intake({"mongo": answering(True)}) as running:
        yield running


def operator(village: str = OWN_VILLAGE) -> dict[str, str]:
    return bearer("village_operator", village=village, sub=f"operator-{village}")


def counter(service_point: str = "KANTOR_DINAS") -> dict[str, str]:
    return bearer("counter_officer", service_point=service_point)


async def test_a_citizen_reads_their_own_request_with_nik_and_phone_masked(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()

    found = await intake.client.get(
        f"/v1/requests/{submitted['request_id']}", headers=intake.citizen("+6281234567890")
    )

    assert found.status_code == 200
    assert found.json()["applicant"]["nik"] == "************0001"
    assert "1234567" not in found.json()["applicant"]["phone"]


async def test_another_citizens_request_is_a_404_that_reveals_nothing(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    missing = "0b5d6a1e-0000-4000-8000-000000000000"

    other = await intake.client.get(
        f"/v1/requests/{submitted['request_id']}", headers=intake.citizen("+6289876543210")
    )
    absent = await intake.client.get(f"/v1/requests/{missing}", headers=intake.citizen())

    assert other.status_code == absent.status_code == 404
    assert other.json() == absent.json()


async def test_a_signed_in_citizen_owns_what_they_submit_for_someone_else(intake: Intake) -> None:
    """A parent submitting for a child with the child's number still follows the request."""
    parent = intake.citizen("+6285700000001")
    submitted = (await intake.client.post("/v1/requests", json=FORM, headers=parent)).json()

    by_parent = await intake.client.get(f"/v1/requests/{submitted['request_id']}", headers=parent)
    by_number = await intake.client.get(
        f"/v1/requests/{submitted['request_id']}", headers=intake.citizen("+6281234567890")
    )

    assert by_parent.status_code == 200
    assert by_number.status_code == 404


async def test_a_village_operator_reads_their_villages_requests_in_full(intake: Intake) -> None:
    submitted = await intake.client.post("/v1/requests", json=FORM, headers=operator())

    found = await intake.client.get(submitted.headers["Location"], headers=operator())

    assert submitted.status_code == 202
    assert found.status_code == 200
    assert found.json()["applicant"]["nik"] == FORM["nik"]
    assert found.json()["applicant"]["phone"] == "+6281234567890"


async def test_a_village_operator_reading_another_villages_request_is_a_403(
    intake: Intake,
) -> None:
    submitted = await intake.client.post("/v1/requests", json=FORM, headers=operator())

    found = await intake.client.get(submitted.headers["Location"], headers=operator(OTHER_VILLAGE))

    assert found.status_code == 403
    assert found.json()["error"] == "forbidden"


async def test_a_village_operator_cannot_read_a_citizens_own_submission(intake: Intake) -> None:
    submitted = await intake.client.post("/v1/requests", json=FORM)

    found = await intake.client.get(submitted.headers["Location"], headers=operator())

    assert found.status_code == 403


async def test_a_counter_officer_reads_their_service_points_requests_only(intake: Intake) -> None:
    submitted = await intake.client.post("/v1/requests", json=FORM, headers=counter())

    own = await intake.client.get(submitted.headers["Location"], headers=counter())
    other = await intake.client.get(submitted.headers["Location"], headers=counter("MPP_KOTA"))

    assert own.status_code == 200
    assert other.status_code == 403


async def test_an_operator_token_without_a_village_cannot_submit(intake: Intake) -> None:
    response = await intake.client.post(
        "/v1/requests", json=FORM, headers=bearer("village_operator")
    )

    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"
    assert intake.repository.requests == {}


async def test_the_event_says_who_submitted(intake: Intake) -> None:
    await intake.client.post("/v1/requests", json=FORM, headers=operator())
    await intake.client.post("/v1/requests", json=FORM | {"nik": nik(2)})

    by_operator, anonymous = (event.data["actor"] for event in intake.repository.outbox)

    assert by_operator == {
        "kind": "operator",
        "id": f"operator-{OWN_VILLAGE}",
        "role": "village_operator",
        "village": OWN_VILLAGE,
        "service_point": None,
        "channel": "api",
    }
    assert anonymous["kind"] == "citizen"
    assert anonymous["id"] == "anonymous"


async def test_a_tracking_number_and_the_niks_last_digits_find_the_status(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    typed = submitted["tracking_number"].lower()[:4] + "-" + submitted["tracking_number"][4:]

    found = await intake.client.post(
        "/v1/lookup", json={"tracking_number": typed, "nik_last4": "0001"}
    )

    assert found.status_code == 200
    assert found.json()["request_id"] == submitted["request_id"]
    assert found.json()["status"] == "SUBMITTED"
    assert found.json()["applicant"] is None


@pytest.mark.parametrize(
    ("tracking_number", "nik_last4"),
    [(None, "0002"), ("ZZZZZZZZ", "0001"), ("00000000", "0001")],
)
async def test_a_wrong_tracking_number_or_nik_ending_is_the_same_404(
    intake: Intake, tracking_number: str | None, nik_last4: str
) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()

    found = await intake.client.post(
        "/v1/lookup",
        json={
            "tracking_number": tracking_number or submitted["tracking_number"],
            "nik_last4": nik_last4,
        },
    )

    assert found.status_code == 404
    assert found.json() == {"error": "not_found", "message": "Permohonan tidak ditemukan."}


async def test_tracking_numbers_are_short_and_unambiguous(intake: Intake) -> None:
    numbers = [
        (await intake.client.post("/v1/requests", json=FORM | {"nik": nik(n)})).json()[
            "tracking_number"
        ]
        for n in range(1, 21)
    ]

    assert len(set(numbers)) == 20
    assert all(len(number) == 8 for number in numbers)
    assert not set("".join(numbers)) & set("01ILO")


async def test_too_many_lookups_from_one_client_are_a_429_with_retry_after() -> None:
    async with running_intake({"mongo": answering(True)}, lookups_per_minute=3) as intake:
        body = {"tracking_number": "ABCDEFGH", "nik_last4": "0001"}
        statuses = [
            (await intake.client.post("/v1/lookup", json=body)).status_code for _ in range(4)
        ]
        refused = await intake.client.post("/v1/lookup", json=body)

    assert statuses == [404, 404, 404, 429]
    assert refused.json()["error"] == "rate_limited"
    assert refused.headers["Retry-After"] == "60"


async def test_a_citizen_withdraws_their_request_before_verification(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    url = f"/v1/requests/{submitted['request_id']}/cancel"

    other = await intake.client.post(url, headers=intake.citizen("+6289876543210"))
    withdrawn = await intake.client.post(url, headers=intake.citizen())

    assert other.status_code == 404
    assert withdrawn.status_code == 202
    event = intake.repository.outbox[-1]
    assert event.type == "id.go.adminduk.request.cancelled.v1"
    assert event.data["actor"]["kind"] == "citizen"


async def test_a_request_in_verification_cannot_be_withdrawn(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    stored = intake.repository.requests[submitted["request_id"]]
    intake.repository.requests[submitted["request_id"]] = dataclasses.replace(
        stored, status=RequestStatus.IN_VERIFICATION
    )

    refused = await intake.client.post(
        f"/v1/requests/{submitted['request_id']}/cancel", headers=intake.citizen()
    )

    assert refused.status_code == 409
    assert refused.json()["error"] == "verification_started"
    assert len(intake.repository.outbox) == 1


async def test_a_request_sent_back_is_resubmitted_once_fixed(intake: Intake) -> None:
    submitted = (await intake.client.post("/v1/requests", json=FORM)).json()
    url = f"/v1/requests/{submitted['request_id']}/resubmit"
    too_early = await intake.client.post(url, headers=intake.citizen())
    stored = intake.repository.requests[submitted["request_id"]]
    intake.repository.requests[submitted["request_id"]] = dataclasses.replace(
        stored, status=RequestStatus.NEEDS_REVISION
    )

    resubmitted = await intake.client.post(url, headers=intake.citizen())

    assert too_early.status_code == 409
    assert too_early.json()["error"] == "nothing_to_fix"
    assert resubmitted.status_code == 202
    assert resubmitted.json()["status"] == "IN_VERIFICATION"
    assert [step["status"] for step in resubmitted.json()["history"]][-1] == "IN_VERIFICATION"
    assert intake.repository.requests[submitted["request_id"]].status.value == "IN_VERIFICATION"
    assert intake.repository.outbox[-1].type == "id.go.adminduk.request.resubmitted.v1"
