"""The service catalogue: which documents the office issues, by which rules. Data, not code.

Each service says what its form asks for, which documents must come with it, how many working days
the office takes, and through which channels a citizen may apply. In-person services (biometric
recording, digital ID activation) are not applied for but booked as visits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.errors import Kind, Refusal
from shared.files import MediaType


class UnknownService(Refusal, LookupError):
    """No service of the catalogue has this code."""

    def __init__(self, service_code: str) -> None:
        super().__init__(
            "unknown_service", f"Layanan '{service_code}' tidak dikenal.", Kind.INVALID
        )
        self.service_code = service_code


class ServiceNotFound(Refusal):
    """A service's own page asked for by a code the catalogue does not have."""

    def __init__(self) -> None:
        super().__init__("not_found", "Layanan tidak ditemukan.", Kind.NOT_FOUND)


class IntakeChannel(StrEnum):
    """Where a citizen applies from: on their own, or helped by someone of the office."""

    APP = "app"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    VILLAGE_OPERATOR = "village_operator"
    COUNTER = "counter"


class FieldType(StrEnum):
    TEXT = "text"
    DATE = "date"
    CHOICE = "choice"
    NIK = "nik"
    FAMILY_CARD = "family_card"
    """A family card (KK) number: 16 digits, region code first, like a NIK."""


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One question of a service's form, as a citizen reads it (label and help in Indonesian)."""

    name: str
    label: str
    type: FieldType
    required: bool
    help: str
    max_length: int = 200
    choices: tuple[Choice, ...] = ()
    not_in_future: bool = False
    """For dates that have already happened: a birth, a death."""

    def choice(self, key: str) -> Choice | None:
        return next((choice for choice in self.choices if choice.key == key), None)


@dataclass(frozen=True)
class DocumentRequirement:
    """A document the office needs to see; any one of `alternatives` fills it as well."""

    code: str
    name: str
    mandatory: bool
    media_types: tuple[MediaType, ...]
    max_bytes: int
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceDefinition:
    code: str
    name: str
    group: str
    description: str
    help: str
    deadline_working_days: int | None
    in_person_only: bool
    channels: frozenset[IntakeChannel]
    fields: tuple[FormField, ...] = ()
    documents: tuple[DocumentRequirement, ...] = ()
    residents_only: bool = True
    """Whether the applicant's NIK must be of this regency (not so for someone moving in)."""
    several_open_allowed: bool = False
    """Whether one NIK may have several requests for it open at once (a birth certificate for
    each child); otherwise a new one waits until the open one is closed."""

    @property
    def online(self) -> bool:
        """Whether citizens may submit it remotely; in-person services are booked as visits."""
        return not self.in_person_only

    @property
    def requirements(self) -> tuple[str, ...]:
        """The documents by name, as a citizen reads them."""
        return tuple(
            " atau ".join((document.name, *document.alternatives)) for document in self.documents
        )

    @property
    def mandatory_documents(self) -> frozenset[str]:
        return frozenset(document.code for document in self.documents if document.mandatory)

    def field(self, name: str) -> FormField | None:
        return next((field for field in self.fields if field.name == name), None)

    def document(self, code: str) -> DocumentRequirement | None:
        return next((document for document in self.documents if document.code == code), None)

    def document_name(self, code: str) -> str:
        """A document as citizens read it: its name, or the code of one no longer listed."""
        document = self.document(code)
        return code if document is None else document.name


@dataclass(frozen=True)
class Regency:
    code: str
    """The four digits PPRR that begin the NIKs of its residents."""
    name: str


class ServiceCatalogue:
    def __init__(self, services: list[ServiceDefinition], *, regency: Regency) -> None:
        self._by_code = {service.code: service for service in services}
        if len(self._by_code) != len(services):
            raise ValueError("service codes in the catalogue must be unique")
        self.regency = regency

    def get(self, code: str) -> ServiceDefinition:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownService(code) from None

    def all(self) -> list[ServiceDefinition]:
        return sorted(self._by_code.values(), key=lambda service: service.code)
