"""The documents a citizen sends with a request: what a file is, whether it may come, and what
its arrival means for the request.

A file's type is read from its first bytes, never from its name or the type its sender declares:
a PDF begins `%PDF-`, a JPEG `FF D8 FF`, a PNG with its eight-byte signature. A requirement of
the catalogue accepts only its own types and sizes. Documents are added while the request waits
for the office (SUBMITTED) and replaced only when the office asked for them (NEEDS_REVISION);
the last mandatory one makes the request complete.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain.callers import Visibility, visibility
from services.intake.domain.catalogue import DocumentRequirement, MediaType, ServiceDefinition
from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from shared.auth import Principal, Role
from shared.events.envelope import Actor
from shared.events.models import DocumentAttached, RequestCompleted

SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"%PDF-", MediaType.PDF),
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
)
SNIFF_BYTES = max(len(signature) for signature, _ in SIGNATURES)
"""Bytes needed to tell every known type apart."""

TYPE_NAMES = {MediaType.PDF: "PDF", MediaType.JPEG: "JPEG", MediaType.PNG: "PNG"}


def sniff(head: bytes) -> MediaType | None:
    """The type the file's first bytes show, or None if they are of no type a document may be."""
    return next((kind for signature, kind in SIGNATURES if head.startswith(signature)), None)


class DocumentRefused(ValueError):
    """A document that cannot be taken; the message says why in Indonesian."""


class UnknownRequirement(DocumentRefused):
    """The service asks for no document of this code."""


class UnsupportedType(DocumentRefused):
    """The file's bytes are not of a type the requirement accepts."""


class TooLarge(DocumentRefused):
    """The file is larger than the requirement allows."""


class EmptyDocument(DocumentRefused):
    """The file has no bytes."""


class NotAttachable(DocumentRefused):
    """The request's status does not let this document come now."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def requirement_for(service: ServiceDefinition, code: str) -> DocumentRequirement:
    """The service's requirement of this code; UnknownRequirement if it has none."""
    requirement = service.document(code)
    if requirement is None:
        known = ", ".join(document.code for document in service.documents) or "tidak ada"
        raise UnknownRequirement(
            f"Layanan {service.code} tidak meminta dokumen '{code}'. Dokumen yang diminta: {known}."
        )
    return requirement


def check_size(requirement: DocumentRequirement, size_bytes: int) -> None:
    """Raises TooLarge if a file of this size is over the requirement's limit."""
    if size_bytes > requirement.max_bytes:
        raise TooLarge(
            f"Berkas {requirement.name} terlalu besar: paling besar "
            f"{_readable_size(requirement.max_bytes)}."
        )


def _type_names(kinds: tuple[MediaType, ...]) -> str:
    names = [TYPE_NAMES[kind] for kind in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " atau " + names[-1]


@dataclass
class DocumentContent:
    """Checks a file as its bytes arrive, so that a wrong or oversized file is refused as soon
    as that shows, before the rest is read: its type from the first bytes, its size as it grows,
    and its SHA-256 along the way."""

    requirement: DocumentRequirement
    size_bytes: int = 0
    media_type: MediaType | None = None
    _head: bytes = b""
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def feed(self, data: bytes) -> None:
        """Takes the next bytes; raises TooLarge or UnsupportedType as soon as either shows."""
        self.size_bytes += len(data)
        check_size(self.requirement, self.size_bytes)
        self._digest.update(data)
        if self.media_type is None and len(self._head) < SNIFF_BYTES:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) == SNIFF_BYTES:
                self.media_type = self._accepted(sniff(self._head))

    def finish(self) -> tuple[MediaType, int, str]:
        """The file's type, size and SHA-256 (hex) once all of it came."""
        if self.size_bytes == 0:
            raise EmptyDocument(f"Berkas {self.requirement.name} kosong.")
        media_type = self.media_type or self._accepted(sniff(self._head))
        return media_type, self.size_bytes, self._digest.hexdigest()

    def _accepted(self, sniffed: MediaType | None) -> MediaType:
        accepted = self.requirement.media_types
        if sniffed is not None and sniffed in accepted:
            return sniffed
        found = (
            "isinya tidak dikenali sebagai PDF, JPEG atau PNG"
            if sniffed is None
            else f"isinya {TYPE_NAMES[sniffed]}"
        )
        raise UnsupportedType(
            f"Dokumen {self.requirement.name} harus berupa {_type_names(accepted)}, "
            f"sedangkan berkas yang dikirim {found}. Jenis berkas dibaca dari isinya, "
            "bukan dari nama atau jenis yang dinyatakan."
        )


def _readable_size(size: int) -> str:
    """As a citizen reads it: 5 MB, 1,5 MB, 200 KB, 900 byte."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0").replace(".", ",") + " MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} byte"


@dataclass(frozen=True)
class StoredDocument:
    """A file intake stored for a request: the requirement it fulfils and what its bytes are."""

    document_id: str
    request_id: str
    requirement: str
    media_type: MediaType
    size_bytes: int
    sha256: str


def replaced_by_new(request: CitizenRequest, requirement: str) -> str | None:
    """The id of the document a new one for `requirement` would replace (None if it is the
    first); NotAttachable if the request's status does not let it come now."""
    present = request.documents.get(requirement)
    if request.status is RequestStatus.SUBMITTED:
        if present is not None:
            raise NotAttachable(
                "already_attached",
                f"Dokumen {requirement} sudah dikirim. Dokumen hanya dapat diganti bila kantor "
                "meminta perbaikan.",
            )
        return None
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
        f"Permohonan berstatus {request.status.value} tidak dapat menerima dokumen: dokumen "
        "dikirim selama permohonan menunggu pemeriksaan atau perbaikan.",
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
    request.events.append(
        DocumentAttached(
            actor=actor,
            request_id=request.request_id,
            document_id=document.document_id,
            requirement=document.requirement,
            media_type=document.media_type.value,
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            replaces=replaces,
            attached_at=now,
        )
    )
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
