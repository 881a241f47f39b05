"""Files and catalogue entries for the document tests: tiny but real PDF, JPEG and PNG bytes."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

from services.intake.domain.catalogue import (
    DocumentRequirement,
    IntakeChannel,
    Regency,
    ServiceCatalogue,
    ServiceDefinition,
)
from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from shared.files import MediaType
from tests.builders import T0, citizen_request

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
TEXT = b"ini bukan PDF, hanya teks biasa yang diberi nama surat.pdf\n"

LETTER = DocumentRequirement(
    code="SURAT",
    name="Surat Pengantar",
    mandatory=True,
    media_types=(MediaType.PDF,),
    max_bytes=600_000,
)
CARD = DocumentRequirement(
    code="KK",
    name="Kartu Keluarga",
    mandatory=True,
    media_types=(MediaType.PDF, MediaType.JPEG, MediaType.PNG),
    max_bytes=600_000,
)
PHOTO = DocumentRequirement(
    code="FOTO",
    name="Pas Foto",
    mandatory=False,
    media_types=(MediaType.JPEG, MediaType.PNG),
    max_bytes=1000,
)
SERVICE = ServiceDefinition(
    code="KK_BARU",
    name="Kartu Keluarga Baru",
    group="KK",
    description="Kartu keluarga baru.",
    help="",
    deadline_working_days=1,
    in_person_only=False,
    channels=frozenset(IntakeChannel),
    documents=(LETTER, CARD, PHOTO),
)
CATALOGUE = ServiceCatalogue([SERVICE], regency=Regency(code="3516", name="Mojokerto"))


def waiting_request(
    request_id: str = "0b5d6a1e-0000-4000-8000-000000000001",
    *,
    status: RequestStatus = RequestStatus.SUBMITTED,
    documents: dict[str, str] | None = None,
    service_point: str | None = None,
    asked: tuple[str, ...] = ("KK",),
) -> CitizenRequest:
    """A KK_BARU request of the test catalogue that still needs both mandatory documents; sent
    back (NEEDS_REVISION), the office asked for `asked` again."""
    request = dataclasses.replace(
        citizen_request(request_id, service_point=service_point),
        status=status,
        required_documents=("KK", "SURAT"),
        documents=dict(documents or {}),
    )
    return sent_back(request, asked) if status is RequestStatus.NEEDS_REVISION else request


def sent_back(request: CitizenRequest, asked: tuple[str, ...] = ("KK",)) -> CitizenRequest:
    """The request as the office returned it, asking for the documents `asked` again."""
    change = StatusChange(
        status=RequestStatus.NEEDS_REVISION, at=T0, note="Perlu perbaikan", documents=asked
    )
    return dataclasses.replace(
        request, status=RequestStatus.NEEDS_REVISION, history=[*request.history, change]
    )


async def parts(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
