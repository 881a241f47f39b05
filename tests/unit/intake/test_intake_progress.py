"""The citizen's status follows their case, with what they need to know, once per step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.intake.domain.citizen_request import RequestStatus
from services.intake.domain.progress import shown_at_same_status, status_change
from services.intake.service_layer.progress import follow_case
from shared.events.models.cases import (
    CaseClaimed,
    CaseEvent,
    CaseRejected,
    CaseStage,
    CaseVerified,
    CollectionMethod,
    DocumentIssued,
    RevisionRequested,
)
from tests.builders import SYSTEM, T0, citizen_request
from tests.fakes import FakeRequestRepository

LATER = T0 + timedelta(hours=2)


def step(event_class: type[CaseEvent], state: str, **data: object) -> CaseEvent:
    return event_class.model_validate(
        {"actor": SYSTEM, "request_id": "req-1", "state": state, "at": LATER, **data}
    )


@pytest.mark.parametrize(
    ("event", "note"),
    [
        (
            step(RevisionRequested, "NEEDS_REVISION", items=["Foto KK buram", "Surat RT"]),
            "Perlu perbaikan: Foto KK buram; Surat RT",
        ),
        (
            step(
                DocumentIssued,
                "ISSUED",
                document_number="3516-1",
                collection=CollectionMethod.PRINT_AT_HOME,
            ),
            "Dokumen nomor 3516-1 dapat diunduh dan dicetak sendiri (PDF).",
        ),
        (
            step(CaseRejected, "REJECTED", reason="Data tidak sesuai"),
            "Permohonan ditolak: Data tidak sesuai",
        ),
        (
            step(
                CaseClaimed,
                "IN_VERIFICATION",
                stage=CaseStage.VERIFICATION,
                out_of_order=False,
                reason_code=None,
            ),
            None,
        ),
    ],
)
def test_each_step_shows_its_status_and_what_the_citizen_needs_to_know(
    event: CaseEvent, note: str | None
) -> None:
    change = status_change(event)

    assert change.status is RequestStatus(event.state)
    assert change.at == LATER
    assert change.note == note


async def test_a_step_that_leaves_the_status_as_it_is_shows_nothing() -> None:
    repository = FakeRequestRepository()
    await repository.add(citizen_request("req-1"), [])
    claimed = step(
        CaseClaimed,
        "IN_VERIFICATION",
        stage=CaseStage.VERIFICATION,
        out_of_order=False,
        reason_code=None,
    )
    await follow_case(event=claimed, event_id="evt-1", repository=repository)

    await follow_case(
        event=step(CaseVerified, "IN_VERIFICATION"), event_id="evt-2", repository=repository
    )

    stored = await repository.get("req-1")
    assert stored is not None
    assert [change.status for change in stored.history] == [RequestStatus.IN_VERIFICATION]
    assert not shown_at_same_status(step(CaseVerified, "IN_VERIFICATION"))


async def test_each_send_back_shows_even_when_the_request_already_needs_revision() -> None:
    repository = FakeRequestRepository()
    await repository.add(citizen_request("req-1"), [])
    first = step(RevisionRequested, "NEEDS_REVISION", items=["Foto KK buram"])
    second = step(RevisionRequested, "NEEDS_REVISION", items=["Surat RT"])

    await follow_case(event=first, event_id="evt-1", repository=repository)
    await follow_case(event=second, event_id="evt-2", repository=repository)

    stored = await repository.get("req-1")
    assert stored is not None
    assert [change.note for change in stored.history] == [
        "Perlu perbaikan: Foto KK buram",
        "Perlu perbaikan: Surat RT",
    ]


async def test_a_step_is_recorded_once_however_often_it_arrives() -> None:
    repository = FakeRequestRepository()
    await repository.add(citizen_request("req-1"), [])
    sent_back = step(RevisionRequested, "NEEDS_REVISION", items=["Foto KK buram"])

    for _ in range(3):
        await follow_case(event=sent_back, event_id="evt-9", repository=repository)

    stored = await repository.get("req-1")
    assert stored is not None
    assert stored.status is RequestStatus.NEEDS_REVISION
    assert [change.status for change in stored.history] == [RequestStatus.NEEDS_REVISION]


async def test_a_step_of_an_unknown_request_is_ignored() -> None:
    repository = FakeRequestRepository()

    await follow_case(
        event=step(CaseVerified, "IN_VERIFICATION"), event_id="evt-1", repository=repository
    )

    assert repository.requests == {}


def test_a_send_back_shows_the_documents_to_send_again_until_the_next_step() -> None:
    sent_back = step(RevisionRequested, "NEEDS_REVISION", items=["Foto KK buram"], documents=["KK"])

    change = status_change(sent_back)

    assert change.documents == ("KK",)
