"""The case state machine: every legal step, every illegal one, and what each records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from services.processing.domain.case import Case, CaseRefused, CaseState, NotAllowed
from services.processing.domain.case_opening import open_case
from services.processing.domain.priority import Lane, birth_date, lane_for
from services.processing.service_layer.cases import open_case_for_request
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseClaimed,
    CaseCompleted,
    CaseOpened,
    CaseRejected,
    CaseReleased,
    CaseResubmitted,
    CaseStage,
    CaseVerified,
    CaseViewed,
    CollectionMethod,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.values import NotificationChannel
from shared.identity import Role
from tests.builders import T0, request_submitted
from tests.fakes import CallCounter, FakeCaseRepository, FlatCalendar

CALENDAR = FlatCalendar()
OPENED_AT = T0 + timedelta(seconds=3)


def staff(name: str, role: Role) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        id=name,
        role=role.value,
        service_point="KANTOR_DINAS",
        channel=Channel.API,
    )


VERIFIER = staff("verifier-1", Role.VERIFIER)
OTHER_VERIFIER = staff("verifier-2", Role.VERIFIER)
SIGNER = staff("signer-1", Role.SIGNER)
OPERATOR = staff("operator-1", Role.OPERATOR)
COUNTER = staff("counter-1", Role.COUNTER_OFFICER)
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="citizen-1", role="citizen", channel=Channel.API)


def new_case(service_code: str = "KK_BARU") -> Case:
    case = open_case(
        request_submitted("req-7", service_code=service_code),
        now=OPENED_AT,
        calendar=CALENDAR,
        default_service_point="KANTOR_DINAS",
    )
    case.events.clear()
    return case


def at(hours: float) -> datetime:
    return OPENED_AT + timedelta(hours=hours)


def in_verification() -> Case:
    case = new_case()
    case.claim_for(VERIFIER, Role.VERIFIER, now=OPENED_AT)
    return case


def verified() -> Case:
    case = in_verification()
    case.verify(VERIFIER, now=OPENED_AT)
    return case


def approved() -> Case:
    case = verified()
    case.claim_for(SIGNER, Role.SIGNER, now=OPENED_AT)
    case.approve(SIGNER, now=OPENED_AT)
    return case


def issued() -> Case:
    case = approved()
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)
    case.issue(
        OPERATOR, document_number="3516-KK-0001", collection=CollectionMethod.OFFICE, now=OPENED_AT
    )
    return case


def test_opening_puts_the_case_in_verification_due_by_the_services_deadline() -> None:
    case = open_case(
        request_submitted("req-7", service_code="AKTA_LAHIR"),
        now=OPENED_AT,
        calendar=CALENDAR,
        default_service_point="KANTOR_DINAS",
    )

    assert case.state is CaseState.SUBMITTED
    assert case.stage is CaseStage.VERIFICATION
    assert case.due_at == OPENED_AT + timedelta(days=1)
    assert case.service_point == "KANTOR_DINAS"
    [opened] = case.events
    assert isinstance(opened, CaseOpened)
    assert opened.actor == Actor.system("processing")
    assert opened.due_at == case.due_at
    assert opened.contact_phone == "+6281234567890"
    assert opened.contact_channel is NotificationChannel.WHATSAPP


def test_a_counter_officers_request_is_worked_on_at_their_service_point() -> None:
    submitted = request_submitted("req-7").model_copy(update={"actor": COUNTER})

    case = open_case(
        submitted, now=OPENED_AT, calendar=CALENDAR, default_service_point="KANTOR_DINAS"
    )

    assert case.service_point == "KANTOR_DINAS"
    elsewhere = COUNTER.model_copy(update={"service_point": "MPP_MOJOKERTO"})
    moved = open_case(
        submitted.model_copy(update={"actor": elsewhere}),
        now=OPENED_AT,
        calendar=CALENDAR,
        default_service_point="KANTOR_DINAS",
    )
    assert moved.service_point == "MPP_MOJOKERTO"


def test_the_happy_path_goes_through_every_state_with_one_event_each() -> None:
    case = new_case()

    case.claim_for(VERIFIER, Role.VERIFIER, now=OPENED_AT)
    assert (case.state, case.stage) == (CaseState.IN_VERIFICATION, CaseStage.VERIFICATION)
    case.verify(VERIFIER, now=OPENED_AT)
    assert (case.state, case.stage, case.claim) == (
        CaseState.IN_VERIFICATION,
        CaseStage.APPROVAL,
        None,
    )
    case.claim_for(SIGNER, Role.SIGNER, now=OPENED_AT)
    case.approve(SIGNER, now=OPENED_AT)
    assert (case.state, case.stage) == (CaseState.APPROVED, CaseStage.ISSUANCE)
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)
    case.issue(
        OPERATOR, document_number=" 3516-KK-1 ", collection=CollectionMethod.VILLAGE, now=OPENED_AT
    )
    assert (case.state, case.stage) == (CaseState.ISSUED, CaseStage.COMPLETION)
    case.claim_for(COUNTER, Role.COUNTER_OFFICER, now=OPENED_AT)
    case.complete(COUNTER, now=at(2))

    assert (case.state, case.stage, case.claim) == (CaseState.COMPLETED, None, None)
    assert [type(event) for event in case.events] == [
        CaseClaimed,
        CaseVerified,
        CaseClaimed,
        CaseApproved,
        CaseClaimed,
        DocumentIssued,
        CaseClaimed,
        CaseCompleted,
    ]
    issued_event = case.events[5]
    assert isinstance(issued_event, DocumentIssued)
    assert issued_event.document_number == "3516-KK-1"
    assert issued_event.collection is CollectionMethod.VILLAGE
    completed = case.events[-1]
    assert isinstance(completed, CaseCompleted)
    assert completed.on_time is True
    assert completed.state == "COMPLETED"
    assert completed.actor == COUNTER


def test_completion_after_the_deadline_is_recorded_as_late() -> None:
    case = issued()
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)

    case.complete(OPERATOR, now=case.due_at + timedelta(seconds=1))

    assert case.completed_on_time is False


def test_a_claim_records_whether_it_jumped_the_queue_and_why() -> None:
    case = new_case()

    case.claim_for(VERIFIER, Role.VERIFIER, now=OPENED_AT, out_of_order_reason="FUNERAL")

    [claimed] = case.events
    assert isinstance(claimed, CaseClaimed)
    assert (claimed.out_of_order, claimed.reason_code, claimed.stage) == (
        True,
        "FUNERAL",
        CaseStage.VERIFICATION,
    )


def test_a_claimed_case_cannot_be_claimed_again() -> None:
    case = in_verification()

    with pytest.raises(CaseRefused) as refusal:
        case.claim_for(OTHER_VERIFIER, Role.VERIFIER, now=OPENED_AT)

    assert refusal.value.code == "already_claimed"


@pytest.mark.parametrize(
    ("build", "role"),
    [
        (new_case, Role.SIGNER),
        (new_case, Role.OPERATOR),
        (verified, Role.VERIFIER),
        (approved, Role.SIGNER),
        (issued, Role.VERIFIER),
    ],
)
def test_only_the_stages_role_may_claim(build: Callable[[], Case], role: Role) -> None:
    with pytest.raises(NotAllowed):
        build().claim_for(staff("someone", role), role, now=OPENED_AT)


def test_release_puts_the_case_back_as_it_was() -> None:
    case = in_verification()

    case.release(VERIFIER, now=OPENED_AT)

    assert case.claim is None
    assert case.stage is CaseStage.VERIFICATION
    assert isinstance(case.events[-1], CaseReleased)


@pytest.mark.parametrize(
    "step",
    [
        lambda case: case.release(OTHER_VERIFIER, now=OPENED_AT),
        lambda case: case.verify(OTHER_VERIFIER, now=OPENED_AT),
        lambda case: case.reject(OTHER_VERIFIER, "tidak lengkap", now=OPENED_AT),
        lambda case: case.request_revision(
            OTHER_VERIFIER, ["foto KK"], now=OPENED_AT, calendar=CALENDAR
        ),
    ],
)
def test_only_the_claimant_acts_on_a_claimed_case(step: Callable[[Case], None]) -> None:
    case = in_verification()

    with pytest.raises(NotAllowed) as refusal:
        step(case)

    assert refusal.value.code == "not_claimant"
    assert case.claim is not None
    assert case.claim.officer == VERIFIER.id


def test_no_one_acts_on_an_unclaimed_case() -> None:
    with pytest.raises(NotAllowed):
        new_case().verify(VERIFIER, now=OPENED_AT)


def test_a_send_back_stops_the_clock_and_resubmission_moves_the_deadline() -> None:
    case = in_verification()
    due = case.due_at

    case.request_revision(
        VERIFIER, ["  Foto KK buram ", "", "Surat pengantar RT"], now=at(2), calendar=CALENDAR
    )
    assert (case.state, case.claim, case.stage) == (CaseState.NEEDS_REVISION, None, None)
    assert case.paused_remaining == due - at(2)
    case.resubmit(CITIZEN, now=at(50), calendar=CALENDAR)

    assert case.state is CaseState.IN_VERIFICATION
    assert case.stage is CaseStage.VERIFICATION
    assert case.due_at == due + timedelta(hours=48)
    assert case.paused_remaining is None
    revision, resubmitted = case.events[-2:]
    assert isinstance(revision, RevisionRequested)
    assert revision.items == ["Foto KK buram", "Surat pengantar RT"]
    assert isinstance(resubmitted, CaseResubmitted)
    assert resubmitted.due_at == case.due_at


def test_a_send_back_must_say_what_to_fix() -> None:
    with pytest.raises(CaseRefused, match="diperbaiki"):
        in_verification().request_revision(VERIFIER, [" ", ""], now=OPENED_AT, calendar=CALENDAR)


def test_only_a_case_waiting_for_the_citizen_can_be_resubmitted() -> None:
    with pytest.raises(CaseRefused):
        in_verification().resubmit(CITIZEN, now=OPENED_AT, calendar=CALENDAR)


@pytest.mark.parametrize("build", [in_verification, verified])
def test_a_verifier_or_the_head_of_office_rejects_with_a_reason(
    build: Callable[[], Case],
) -> None:
    case = build()
    if case.claim is None:
        case.claim_for(SIGNER, Role.SIGNER, now=OPENED_AT)
    assert case.claim is not None
    actor = VERIFIER if case.claim.officer == VERIFIER.id else SIGNER

    case.reject(actor, " Data tidak sesuai dengan KK ", now=OPENED_AT)

    assert case.state is CaseState.REJECTED
    assert case.stage is None
    rejected = case.events[-1]
    assert isinstance(rejected, CaseRejected)
    assert rejected.reason == "Data tidak sesuai dengan KK"


def test_a_rejection_needs_a_reason() -> None:
    with pytest.raises(CaseRefused, match="Alasan"):
        in_verification().reject(VERIFIER, "   ", now=OPENED_AT)


def test_an_issued_document_cannot_be_rejected() -> None:
    case = issued()
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)

    with pytest.raises(CaseRefused):
        case.reject(OPERATOR, "terlambat", now=OPENED_AT)


def test_issuing_needs_a_document_number() -> None:
    case = approved()
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)

    with pytest.raises(CaseRefused):
        case.issue(OPERATOR, document_number=" ", collection=CollectionMethod.OFFICE, now=OPENED_AT)


def test_the_citizen_cancels_only_before_verification_begins() -> None:
    waiting = new_case()
    waiting.cancel(CITIZEN, now=OPENED_AT)
    assert waiting.state is CaseState.CANCELLED
    assert isinstance(waiting.events[-1], CaseCancelled)

    with pytest.raises(CaseRefused):
        in_verification().cancel(CITIZEN, now=OPENED_AT)


@pytest.mark.parametrize(
    "build",
    [
        lambda: _finished("complete"),
        lambda: _finished("reject"),
        lambda: _finished("cancel"),
    ],
)
def test_a_finished_case_takes_no_more_steps(build: Callable[[], Case]) -> None:
    case = build()

    with pytest.raises(CaseRefused):
        case.claim_for(VERIFIER, Role.VERIFIER, now=OPENED_AT)
    with pytest.raises(CaseRefused):
        case.cancel(CITIZEN, now=OPENED_AT)
    assert case.stage is None


def _finished(how: str) -> Case:
    if how == "cancel":
        case = new_case()
        case.cancel(CITIZEN, now=OPENED_AT)
        return case
    if how == "reject":
        case = in_verification()
        case.reject(VERIFIER, "tidak lengkap", now=OPENED_AT)
        return case
    case = issued()
    case.claim_for(OPERATOR, Role.OPERATOR, now=OPENED_AT)
    case.complete(OPERATOR, now=OPENED_AT)
    return case


@pytest.mark.parametrize(
    ("build", "step"),
    [
        (new_case, lambda case: case.approve(SIGNER, now=OPENED_AT)),
        (in_verification, lambda case: case.approve(VERIFIER, now=OPENED_AT)),
        (
            in_verification,
            lambda case: case.issue(
                VERIFIER, document_number="1", collection=CollectionMethod.OFFICE, now=OPENED_AT
            ),
        ),
        (in_verification, lambda case: case.complete(VERIFIER, now=OPENED_AT)),
        (approved, lambda case: case.verify(SIGNER, now=OPENED_AT)),
        (
            approved,
            lambda case: case.request_revision(SIGNER, ["x"], now=OPENED_AT, calendar=CALENDAR),
        ),
    ],
)
def test_a_step_out_of_its_stage_is_refused_and_changes_nothing(
    build: Callable[[], Case], step: Callable[[Case], None]
) -> None:
    case = build()
    before = (case.state, case.verified, case.claim, len(case.events))

    with pytest.raises(CaseRefused):
        step(case)

    assert (case.state, case.verified, case.claim, len(case.events)) == before


def test_reading_a_case_is_recorded_with_who_read_it() -> None:
    case = new_case()

    case.view(SIGNER, now=OPENED_AT)

    [viewed] = case.events
    assert isinstance(viewed, CaseViewed)
    assert viewed.actor == SIGNER
    assert case.state is CaseState.SUBMITTED


@pytest.mark.parametrize(
    ("service_code", "nik", "lane"),
    [
        ("AKTA_MATI", "3516091204800001", Lane.PRIORITY),
        ("KK_BARU", "3516091204600001", Lane.PRIORITY),
        ("KK_BARU", "3516095204600001", Lane.PRIORITY),
        ("KK_BARU", "3516091204800001", Lane.NORMAL),
        ("KK_BARU", "3516091204100001", Lane.NORMAL),
    ],
)
def test_death_certificates_and_applicants_aged_sixty_go_first(
    service_code: str, nik: str, lane: Lane
) -> None:
    assert lane_for(service_code, nik, T0.date()) is lane


def test_a_womans_birth_day_has_forty_added() -> None:
    assert birth_date("3516095204600001", T0.date()) == birth_date("3516091204600001", T0.date())


async def test_a_submitted_request_opens_one_case_and_wakes_the_relay() -> None:
    repository = FakeCaseRepository()
    outbox_ready = CallCounter()
    repository.outgoing.register(outbox_ready)

    for _ in range(2):
        await open_case_for_request(
            submitted=request_submitted("req-7"),
            event_id="evt-1",
            repository=repository,
            calendar=CALENDAR,
            default_service_point="KANTOR_DINAS",
            now=OPENED_AT,
        )

    assert list(repository.cases) == ["req-7"]
    assert outbox_ready.keys == ["req-7"]
    assert [event.type for event in repository.outbox] == [CaseOpened.event_type]


def test_a_send_back_names_the_documents_to_send_again_and_only_the_requests_own() -> None:
    case = in_verification()
    case.documents = {"KK": "doc-1"}
    case.missing_documents = {"SURAT"}

    with pytest.raises(CaseRefused) as refused:
        case.request_revision(
            VERIFIER, ["Foto buram"], now=OPENED_AT, calendar=CALENDAR, documents=["AKTA"]
        )
    case.request_revision(
        VERIFIER, ["Foto buram"], now=OPENED_AT, calendar=CALENDAR, documents=["KK", "KK"]
    )

    assert refused.value.code == "unknown_documents"
    assert "KK, SURAT" in str(refused.value)
    revision = case.events[-1]
    assert isinstance(revision, RevisionRequested)
    assert revision.documents == ["KK"]
