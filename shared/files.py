"""Files people send (scans of papers, photos): what they are, known by their bytes, and whether
a rule for them takes them, checked as the bytes arrive."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from shared.errors import Kind, Refusal


class MediaType(StrEnum):
    """The file types taken, known by their bytes, not their names."""

    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


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


class FileRefused(ValueError):
    """A file that cannot be taken; the message says why in Indonesian."""


class UnsupportedType(FileRefused):
    """The file's bytes are not of a type the requirement accepts."""


class TooLarge(FileRefused):
    """The file is larger than the requirement allows."""


class EmptyFile(Refusal, FileRefused):
    """The file has no bytes."""

    def __init__(self, message: str) -> None:
        super().__init__("empty_document", message, Kind.INVALID)


class FileRule(Protocol):
    """What a file must be: one of `media_types`, at most `max_bytes`; `name` says which paper."""

    @property
    def name(self) -> str: ...

    @property
    def media_types(self) -> tuple[MediaType, ...]: ...

    @property
    def max_bytes(self) -> int: ...


@dataclass(frozen=True)
class Accepted:
    """A rule for one kind of file that is not a catalogue document (e.g. a letter's scan)."""

    name: str
    media_types: tuple[MediaType, ...]
    max_bytes: int


def check_size(requirement: FileRule, size_bytes: int) -> None:
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
class FileContent:
    """Checks a file as its bytes arrive, so that a wrong or oversized file is refused as soon
    as that shows, before the rest is read: its type from the first bytes, its size as it grows,
    and its SHA-256 along the way."""

    requirement: FileRule
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
            raise EmptyFile(f"Berkas {self.requirement.name} kosong.")
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
