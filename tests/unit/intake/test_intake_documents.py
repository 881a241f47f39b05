"""A request's documents at intake: what a file is, whether it may come, and what it completes."""

from __future__ import annotations

import hashlib

import pytest

from services.intake.domain.callers import Visibility
from services.intake.domain.catalogue import DocumentRequirement
from services.intake.domain.citizen_request import RequestStatus
from services.intake.domain.documents import (
    NotAttachable,
    StoredDocument,
    UnknownRequirement,
    attach,
    document_access,
    requirement_for,
)
from shared.events.models.requests import DocumentAttached, RequestCompleted
from shared.files import EmptyFile, FileContent, MediaType, TooLarge, UnsupportedType, sniff
from shared.identity import Principal, Role
from tests.builders import CITIZEN, MOBILE, T0
from tests.documents import CARD, JPEG, LETTER, PDF, PHOTO, PNG, SERVICE, TEXT, waiting_request


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, MediaType.PDF),
        (JPEG, MediaType.JPEG),
        (PNG, MediaType.PNG),
        (TEXT, None),
        (b"%PDF", None),
        (b"\x89PNG\r\n", None),
        (b"GIF89a\x01\x00", None),
        (b"", None),
    ],
)
def test_the_type_is_read_from_the_first_bytes(head: bytes, expected: MediaType | None) -> None:
    assert sniff(head) is expected


def checked(
    file_parts: list[bytes], requirement: DocumentRequirement = LETTER
) -> tuple[MediaType, int, str]:
    content = FileContent(requirement)
    for part in file_parts:
        content.feed(part)
    return content.finish()


def test_a_file_of_an_accepted_type_gives_its_type_size_and_digest() -> None:
    media_type, size, digest = checked([PDF[:3], PDF[3:10], PDF[10:]])

    assert media_type is MediaType.PDF
    assert size == len(PDF)
    assert digest == hashlib.sha256(PDF).hexdigest()


def test_text_named_pdf_is_refused_from_its_first_bytes_with_the_reason() -> None:
    content = FileContent(LETTER)

    with pytest.raises(UnsupportedType) as refused:
        content.feed(TEXT[:8])

    assert "harus berupa PDF" in str(refused.value)
    assert "tidak dikenali" in str(refused.value)


def test_a_png_is_refused_where_only_pdf_is_accepted_and_named_as_png() -> None:
    with pytest.raises(UnsupportedType, match=r"harus berupa PDF, sedangkan berkas .* isinya PNG"):
        checked([PNG], LETTER)


def test_a_pdf_is_refused_where_only_pictures_are_accepted() -> None:
    with pytest.raises(UnsupportedType, match="harus berupa JPEG atau PNG"):
        checked([PDF], PHOTO)


def test_every_accepted_type_of_a_requirement_is_taken() -> None:
    assert [checked([file], CARD)[0] for file in (PDF, JPEG, PNG)] == [
        MediaType.PDF,
        MediaType.JPEG,
        MediaType.PNG,
    ]


def test_a_file_shorter_than_the_longest_signature_is_read_when_it_ends() -> None:
    assert checked([b"%PDF-"])[0] is MediaType.PDF
    with pytest.raises(UnsupportedType):
        checked([b"%PD"])


def test_size_is_refused_as_soon_as_it_passes_the_limit() -> None:
    content = FileContent(PHOTO)
    content.feed(JPEG + b"\x00" * (PHOTO.max_bytes - len(JPEG)))

    with pytest.raises(TooLarge, match="Pas Foto terlalu besar: paling besar 1000 byte"):
        content.feed(b"\x00")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(EmptyFile):
        checked([])


def test_a_requirement_the_service_does_not_have_is_refused_naming_those_it_has() -> None:
    assert requirement_for(SERVICE, "KK") is CARD
    with pytest.raises(UnknownRequirement, match="SURAT, KK, FOTO"):
        requirement_for(SERVICE, "AKTA")


def stored(requirement: str, document_id: str = "doc-1") -> StoredDocument:
    return StoredDocument(
        document_id=document_id,
        request_id="req-1",
        requirement=requirement,
        media_type=MediaType.PDF,
        size_bytes=len(PDF),
        sha256=hashlib.sha256(PDF).hexdigest(),
    )


def test_a_missing_document_is_attached_with_its_event() -> None:
    request = waiting_request()

    replaces = attach(request, stored("KK"), actor=CITIZEN, now=T0)

    assert replaces is None
    assert request.documents == {"KK": "doc-1"}
    assert request.missing_documents == ["SURAT"]
    [event] = request.events
    assert isinstance(event, DocumentAttached)
    assert (event.document_id, event.requirement, event.media_type) == (
        "doc-1",
        "KK",
        "application/pdf",
    )
    assert event.size_bytes == len(PDF)
    assert event.replaces is None
    assert event.attached_at == T0


def test_the_last_mandatory_document_completes_the_request() -> None:
    request = waiting_request(documents={"KK": "doc-1"})

    attach(request, stored("SURAT", "doc-2"), actor=CITIZEN, now=T0)

    attached, completed = request.events
    assert isinstance(attached, DocumentAttached)
    assert isinstance(completed, RequestCompleted)
    assert completed.documents == {"KK": "doc-1", "SURAT": "doc-2"}
    assert completed.completed_at == T0
    assert request.missing_documents == []


def test_an_optional_document_after_completion_completes_nothing_again() -> None:
    request = waiting_request(documents={"KK": "doc-1", "SURAT": "doc-2"})

    attach(request, stored("FOTO", "doc-3"), actor=CITIZEN, now=T0)

    assert [type(event) for event in request.events] == [DocumentAttached]


def test_a_document_sent_before_is_replaced_at_will_until_verification_begins() -> None:
    waiting = waiting_request(documents={"KK": "doc-1"})

    replaces = attach(waiting, stored("KK", "doc-2"), actor=CITIZEN, now=T0)

    assert replaces == "doc-1"
    assert waiting.documents == {"KK": "doc-2"}
    [event] = waiting.events
    assert isinstance(event, DocumentAttached)
    assert event.replaces == "doc-1"


def test_a_replacement_of_a_complete_request_completes_nothing_again() -> None:
    request = waiting_request(documents={"KK": "doc-1", "SURAT": "doc-2"})

    attach(request, stored("SURAT", "doc-3"), actor=CITIZEN, now=T0)

    assert [type(event) for event in request.events] == [DocumentAttached]
    assert request.documents == {"KK": "doc-1", "SURAT": "doc-3"}


def test_after_a_send_back_only_the_documents_asked_for_are_replaced() -> None:
    returned = waiting_request(
        status=RequestStatus.NEEDS_REVISION, documents={"KK": "doc-1", "SURAT": "doc-2"}
    )

    replaces = attach(returned, stored("KK", "doc-3"), actor=CITIZEN, now=T0)
    with pytest.raises(NotAttachable) as refused:
        attach(returned, stored("SURAT", "doc-4"), actor=CITIZEN, now=T0)

    assert replaces == "doc-1"
    assert refused.value.code == "not_requested"
    assert returned.documents == {"KK": "doc-3", "SURAT": "doc-2"}


def test_a_missing_document_may_also_come_while_the_office_waits_for_fixes() -> None:
    request = waiting_request(status=RequestStatus.NEEDS_REVISION, documents={"KK": "doc-1"})

    attach(request, stored("SURAT", "doc-2"), actor=CITIZEN, now=T0)

    assert [type(event) for event in request.events] == [DocumentAttached, RequestCompleted]


@pytest.mark.parametrize(
    "status",
    [
        RequestStatus.IN_VERIFICATION,
        RequestStatus.APPROVED,
        RequestStatus.ISSUED,
        RequestStatus.COMPLETED,
        RequestStatus.REJECTED,
        RequestStatus.CANCELLED,
    ],
)
def test_no_document_comes_while_the_office_works_or_after(status: RequestStatus) -> None:
    request = waiting_request(status=status)

    with pytest.raises(NotAttachable) as refused:
        attach(request, stored("KK"), actor=CITIZEN, now=T0)

    assert refused.value.code == "not_accepting_documents"
    assert status.value in str(refused.value)
    assert request.documents == {}


def test_a_document_sent_before_is_not_replaced_once_an_officer_began_to_verify() -> None:
    request = waiting_request(status=RequestStatus.IN_VERIFICATION, documents={"KK": "doc-1"})

    with pytest.raises(NotAttachable, match="petugas sudah mulai memeriksanya") as refused:
        attach(request, stored("KK", "doc-2"), actor=CITIZEN, now=T0)

    assert refused.value.code == "not_accepting_documents"
    assert request.documents == {"KK": "doc-1"}
    assert request.events == []


def principal(*roles: Role, **claims: str) -> Principal:
    return Principal(subject="someone", roles=frozenset(roles), **claims)


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (principal(Role.CITIZEN, phone_number=MOBILE), Visibility.MASKED),
        (principal(Role.CITIZEN, phone_number="+6289999999999"), Visibility.HIDDEN),
        (principal(Role.COUNTER_OFFICER, service_point="MPP_1"), Visibility.FULL),
        (principal(Role.COUNTER_OFFICER, service_point="MPP_2"), Visibility.FORBIDDEN),
        (principal(Role.VERIFIER, service_point="MPP_1"), Visibility.FULL),
        (principal(Role.OPERATOR, service_point="MPP_1"), Visibility.FULL),
        (principal(Role.SUPERVISOR, service_point="MPP_1"), Visibility.FULL),
        (principal(Role.VERIFIER, service_point="KANTOR_DINAS"), Visibility.HIDDEN),
        (principal(Role.SIGNER, service_point="MPP_1"), Visibility.HIDDEN),
        (principal(Role.AUDITOR), Visibility.HIDDEN),
    ],
)
def test_documents_are_read_by_who_handles_the_request_and_the_officers_of_its_case(
    caller: Principal, expected: Visibility
) -> None:
    request = waiting_request(service_point="MPP_1")

    assert document_access(caller, request, case_service_point="MPP_1") is expected
