"""Files and catalogue entries for the document tests: tiny but real PDF, JPEG and PNG bytes,
and files that only begin like them."""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib
from collections.abc import AsyncIterator
from io import BytesIO

from PIL import Image
from pypdf import PdfWriter

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


def pdf(pages: int = 1, *, password: str | None = None) -> bytes:
    """A real PDF of blank A4 pages, locked with `password` if one is given."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password)
    written = BytesIO()
    writer.write(written)
    return written.getvalue()


def image(image_format: str, size: tuple[int, int] = (24, 16)) -> bytes:
    written = BytesIO()
    Image.new("RGB", size, "white").save(written, image_format)
    return written.getvalue()


def noise_png(side: int) -> bytes:
    """A real PNG of random pixels, which do not compress: about 3 bytes a pixel."""
    written = BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(written, "PNG")
    return written.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims `width` by `height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


PDF = pdf()
JPEG = image("JPEG")
PNG = image("PNG")
TEXT = b"ini bukan PDF, hanya teks biasa yang diberi nama surat.pdf\n"
FAKE_PDF = b"%PDF-1.4 ini cuma teks, bukan PDF"
"""33 bytes of text that begin as a PDF does."""
PROGRAM_AS_PDF = b"%PDF-1.4\n" + b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 4
"""A Windows program with a PDF's first line in front of it."""

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
