"""A case follows its request's documents, and is not verified while a mandatory one is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.processing.domain.case import Case, CaseRefused, CaseState
from services.processing.domain.case_opening import open_case
from services.processing.entrypoints.case_views import CaseView
from services.processing.entrypoints.consumer import Dependencies, subscription
from services.processing.service_layer.cases import note_documents
from services.processing.service_layer.known_cases import KnownCases
from shared.errors import AwaitingEarlierEvent
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CaseVerified, RevisionRequested
from shared.events.models.requests import DocumentAttached, RequestCompleted
from shared.identity import Role
from tests.builders import CITIZEN, T0, request_submitted, wrapped
from tests.fakes import (
    FakeAtRisk,
    FakeCaseRepository,
    FakeClock,
    FakeQueues,
    FakeTimers,
    FlatCalendar,
)
from tests.fakes_letters import fake_letters
from tests.unit.processing.test_processing_report import FakeReportStore

VERIFIER = Actor(
    kind=ActorKind.STAFF,
    id="verifier-1",
    role="verifier",
    service_point="KANTOR_DINAS",
    channel=Channel.API,
)


def waiting_for(*missing: str) -> Case:
    submitted = request_submitted("req-7").model_copy(update={"missing_documents": list(missing)})
    case = open_case(
        submitted, now=T0, calendar=FlatCalendar(), default_service_point="KANTOR_DINAS"
    )
    case.events.clear()
    return case


def attached(
    requirement: str, document_id: str, replaces: str | None = None, request_id: str = "req-7"
) -> DocumentAttached:
    return DocumentAttached(
        actor=CITIZEN,
        request_id=request_id,
        document_id=document_id,
        requirement=requirement,
        media_type="application/pdf",
        size_bytes=100,
        sha256="0" * 64,
        replaces=replaces,
        attached_at=T0,
    )


def completed(documents: dict[str, str], request_id: str = "req-7") -> RequestCompleted:
    return RequestCompleted(
        actor=CITIZEN, request_id=request_id, documents=documents, completed_at=T0
    )


def test_a_case_learns_the_missing_documents_from_the_submission() -> None:
    case = waiting_for("KK", "BUKU_NIKAH")

    assert case.missing_documents == {"KK", "BUKU_NIKAH"}
    assert case.documents == {}
    assert not case.documents_complete


def test_verification_is_refused_while_a_mandatory_document_is_missing() -> None:
    case = waiting_for("KK", "BUKU_NIKAH")
    case.note_document("KK", "doc-1", None)
    case.claim_for(VERIFIER, Role.VERIFIER, now=T0)

    with pytest.raises(CaseRefused) as refused:
        case.verify(VERIFIER, now=T0)

    assert refused.value.code == "documents_missing"
    assert refused.value.message.startswith("Dokumen wajib belum lengkap: BUKU_NIKAH.")
    assert not case.verified
    assert not any(isinstance(event, CaseVerified) for event in case.events)


def test_the_verifier_may_still_send_back_a_case_with_documents_missing() -> None:
    case = waiting_for("KK")
    case.claim_for(VERIFIER, Role.VERIFIER, now=T0)
    case.events.clear()

    case.request_revision(
        VERIFIER, ["Kirim Kartu Keluarga"], now=T0 + timedelta(hours=1), calendar=FlatCalendar()
    )

    assert case.state is CaseState.NEEDS_REVISION
    assert [type(event) for event in case.events] == [RevisionRequested]


def test_once_every_document_came_the_case_is_verified() -> None:
    case = waiting_for("KK", "BUKU_NIKAH")
    case.note_document("KK", "doc-1", None)
    case.note_document("BUKU_NIKAH", "doc-2", None)
    case.claim_for(VERIFIER, Role.VERIFIER, now=T0)

    case.verify(VERIFIER, now=T0)

    assert case.documents_complete
    assert case.verified


def test_a_document_noted_again_or_older_than_the_one_held_changes_nothing() -> None:
    case = waiting_for("KK")

    assert case.note_document("KK", "doc-1", None) is True
    assert case.note_document("KK", "doc-2", "doc-1") is True
    assert case.note_document("KK", "doc-2", "doc-1") is False
    assert case.note_document("KK", "doc-1", None) is False
    assert case.documents == {"KK": "doc-2"}
    assert case.missing_documents == set()


def test_completion_keeps_newer_documents_and_clears_what_was_missing() -> None:
    case = waiting_for("KK", "BUKU_NIKAH")
    case.note_document("KK", "doc-3", "doc-1")

    assert case.note_complete({"KK": "doc-1", "BUKU_NIKAH": "doc-2"}) is True
    assert case.documents == {"KK": "doc-3", "BUKU_NIKAH": "doc-2"}
    assert case.documents_complete
    assert case.note_complete({"KK": "doc-1", "BUKU_NIKAH": "doc-2"}) is False


def test_the_console_shows_the_documents_and_whether_they_are_complete() -> None:
    case = waiting_for("KK", "BUKU_NIKAH")
    case.note_document("KK", "doc-1", None)

    view = CaseView.of(case)

    assert [(item.requirement, item.document_id) for item in view.documents] == [("KK", "doc-1")]
    assert view.missing_documents == ["BUKU_NIKAH"]
    assert view.documents_complete is False


async def test_a_redelivered_document_event_writes_nothing() -> None:
    repository = FakeCaseRepository()
    await repository.add(waiting_for("KK"), processed_event_id="evt-0", outbox=[])

    for _ in range(2):
        await note_documents(event=attached("KK", "doc-1"), repository=KnownCases(repository))

    assert repository.revisions["req-7"] == 1
    assert repository.cases["req-7"].documents == {"KK": "doc-1"}
    assert repository.cases["req-7"].documents_complete
    assert repository.outbox == []


async def test_a_document_for_a_case_not_opened_yet_is_retried() -> None:
    with pytest.raises(AwaitingEarlierEvent):
        await note_documents(
            event=attached("KK", "doc-1"), repository=KnownCases(FakeCaseRepository())
        )


async def test_the_consumer_applies_intakes_document_events_to_the_case() -> None:
    repository = FakeCaseRepository()
    await repository.add(waiting_for("KK", "SURAT"), processed_event_id="evt-0", outbox=[])
    dispatch = subscription.bind(
        Dependencies(
            repository=KnownCases(repository),
            queues=FakeQueues(),
            timers=FakeTimers(),
            at_risk=FakeAtRisk(),
            calendar=FlatCalendar(),
            default_service_point="KANTOR_DINAS",
            report=FakeReportStore(),
            letters=fake_letters(),
        ),
        FakeClock(T0),
    )

    await dispatch(wrapped(attached("KK", "doc-1")))
    await dispatch(wrapped(attached("SURAT", "doc-2")))
    await dispatch(wrapped(completed({"KK": "doc-1", "SURAT": "doc-2"})))

    case = repository.cases["req-7"]
    assert case.documents == {"KK": "doc-1", "SURAT": "doc-2"}
    assert case.documents_complete
    assert repository.revisions["req-7"] == 2
