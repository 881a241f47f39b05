"""The documents a citizen sends with a request: what a file is, whether it may come, and what
its arrival means for the request.

A file's type is read from its first bytes, never from its name or the type its sender declares:
a PDF begins `%PDF-`, a JPEG `FF D8 FF`, a PNG with its eight-byte signature. A requirement of
the catalogue accepts only its own types and sizes, and a file is kept only if it opens as its
type (`shared.file_contents`). While the request waits for the office (SUBMITTED), before any
officer has begun to verify it, a document may be sent or replaced at will, so a citizen who sent
the wrong scan fixes it without waiting for a send-back; once verification began, only what the
office asks for may come again (NEEDS_REVISION). The last mandatory one makes the request
complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.intake.domain.callers import Visibility, visibility
from services.intake.domain.catalogue import DocumentRequirement, ServiceDefinition
from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor
from shared.events.models.requests import DocumentAttached, RequestCompleted
from shared.files import FileRefused, MediaType
from shared.identity import Principal, Role


class DocumentRefused(FileRefused):
    """A document that cannot be taken for its request; the message says why in Indonesian."""


class UnknownRequirement(Refusal, DocumentRefused):
    """The service asks for no document of this code."""

    def __init__(self, message: str) -> None:
        super().__init__("unknown_requirement", message, Kind.INVALID)


class NotAttachable(Refusal, DocumentRefused):
    """The request's status does not let this document come now."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.CONFLICT)


class DocumentNotFound(Refusal):
    """No document the request holds now has this id (replaced, never attached, or another
    request's)."""

    def __init__(self) -> None:
        super().__init__("not_found", "Dokumen tidak ditemukan.", Kind.NOT_FOUND)


def requirement_for(service: ServiceDefinition, code: str) -> DocumentRequirement:
    """The service's requirement of this code; UnknownRequirement if it has none."""
    requirement = service.document(code)
    if requirement is None:
        known = ", ".join(document.code for document in service.documents) or "tidak ada"
        raise UnknownRequirement(
            f"Layanan {service.code} tidak meminta dokumen '{code}'. Dokumen yang diminta: {known}."
        )
    return requirement


@dataclass(frozen=True)
class StoredDocument:
    """A file intake stored for a request: the requirement it fulfils and what its bytes are."""

    document_id: str
    request_id: str
    requirement: str
    media_type: MediaType
    size_bytes: int
    sha256: str

    def attached(self, *, actor: Actor, replaces: str | None, now: datetime) -> DocumentAttached:
        """The event that records this document on its request."""
        return DocumentAttached(
            actor=actor,
            request_id=self.request_id,
            document_id=self.document_id,
            requirement=self.requirement,
            media_type=self.media_type.value,
            size_bytes=self.size_bytes,
            sha256=self.sha256,
            replaces=replaces,
            attached_at=now,
        )


def replaced_by_new(request: CitizenRequest, requirement: str) -> str | None:
    """The id of the document a new one for `requirement` would replace (None if it is the
    first); NotAttachable if the request's status does not let it come now.

    Intake learns that verification began from processing's `CaseClaimed` (the request turns
    IN_VERIFICATION), the same signal that ends a citizen's right to cancel."""
    present = request.documents.get(requirement)
    if request.status is RequestStatus.SUBMITTED:
        return present
    if request.status is RequestStatus.NEEDS_REVISION:
        asked = request.documents_to_send_again
        if present is not None and requirement not in asked:
            raise NotAttachable(
                "not_requested",
                f"Kantor tidak meminta dokumen {requirement} dikirim ulang; yang diminta: "
                f"{', '.join(asked) or 'tidak ada'}.",
            )
        return present
    raise NotAttachable(
        "not_accepting_documents",
        f"Permohonan berstatus {request.status.value} tidak dapat menerima dokumen: petugas "
        "sudah mulai memeriksanya. Dokumen dapat dikirim atau diganti selama permohonan "
        "menunggu pemeriksaan, atau bila kantor meminta perbaikan.",
    )


def attach(
    request: CitizenRequest, document: StoredDocument, *, actor: Actor, now: datetime
) -> str | None:
    """Records the document under its requirement with its `DocumentAttached` event, and
    `RequestCompleted` when it was the last mandatory one missing; returns the id of the
    document it replaces, if any."""
    replaces = replaced_by_new(request, document.requirement)
    was_missing = bool(request.missing_documents)
    request.documents[document.requirement] = document.document_id
    request.events.append(document.attached(actor=actor, replaces=replaces, now=now))
    if was_missing and not request.missing_documents:
        request.events.append(
            RequestCompleted(
                actor=actor,
                request_id=request.request_id,
                documents=dict(request.documents),
                completed_at=now,
            )
        )
    return replaces


STAFF_READERS = frozenset({Role.VERIFIER, Role.OPERATOR, Role.SUPERVISOR})
"""Who works on the case and so reads its documents, at the case's service point."""


def document_access(
    principal: Principal, request: CitizenRequest, *, case_service_point: str
) -> Visibility:
    """Who may read a request's documents: whoever may see the request (its citizen, the
    village operator or counter officer who handles it), and the officers of the service point
    that works on its case. Other officers find nothing, as in the console."""
    seen_as = visibility(principal, request)
    if seen_as in (Visibility.FULL, Visibility.MASKED):
        return seen_as
    if principal.roles & STAFF_READERS and principal.service_point == case_service_point:
        return Visibility.FULL
    if principal.roles & STAFF_READERS:
        return Visibility.HIDDEN
    return seen_as
