"""Loads the service catalogue from JSON, so the office can change it without a code change.

The file is checked in full when intake starts: a broken catalogue stops the service with a message
that names the file and every problem in it, rather than failing a citizen's submission later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from services.intake.domain.catalogue import (
    Choice,
    DocumentRequirement,
    FieldType,
    FormField,
    IntakeChannel,
    Regency,
    ServiceCatalogue,
    ServiceDefinition,
)
from shared.errors import InvalidConfiguration
from shared.files import MediaType

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "catalogue.json"

Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,39}$")]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
RESERVED_FIELDS = frozenset({"service_code", "nik", "name", "phone", "preferred_channel"})
"""Every form asks for these itself; a service's own fields may not reuse their names."""


class InvalidCatalogue(InvalidConfiguration):
    """The catalogue file cannot be used; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Choice(_Strict):
    key: Code
    label: Text


class _Field(_Strict):
    name: FieldName
    label: Text
    type: FieldType
    required: bool
    help: Text
    max_length: int = Field(default=200, ge=1, le=2000)
    choices: list[_Choice] = []
    not_in_future: bool = False

    @model_validator(mode="after")
    def _choices_fit_the_type(self) -> Self:
        if self.name in RESERVED_FIELDS:
            raise ValueError(f"field name {self.name!r} is asked by every form already")
        if (self.type is FieldType.CHOICE) != bool(self.choices):
            raise ValueError("a choice field needs choices, and only a choice field has them")
        if len({choice.key for choice in self.choices}) != len(self.choices):
            raise ValueError("choice keys must be unique")
        if self.not_in_future and self.type is not FieldType.DATE:
            raise ValueError("only a date field can be not_in_future")
        return self


class _Document(_Strict):
    code: Code
    name: Text
    mandatory: bool
    alternatives: list[Text] = []
    media_types: list[MediaType] = Field(min_length=1)
    max_bytes: int = Field(ge=1024, le=20 * 1024 * 1024)


class _Service(_Strict):
    code: Code
    name: Text
    group: Text
    description: Text
    help: Text
    deadline_working_days: int | None = Field(ge=1, le=60)
    in_person_only: bool
    channels: list[IntakeChannel] = Field(min_length=1)
    fields: list[_Field] = []
    documents: list[_Document] = []
    residents_only: bool = True
    several_open_allowed: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.in_person_only == (self.deadline_working_days is not None):
            raise ValueError(
                "an in-person service has no deadline (it is booked); any other service has one"
            )
        if self.in_person_only and (self.fields or self.documents or self.several_open_allowed):
            raise ValueError(
                "an in-person service has no form fields or documents to send, nor requests open"
            )
        if len({field.name for field in self.fields}) != len(self.fields):
            raise ValueError("field names must be unique within a service")
        if len({document.code for document in self.documents}) != len(self.documents):
            raise ValueError("document codes must be unique within a service")
        return self


class _Catalogue(_Strict):
    regency: _Regency
    services: list[_Service] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        codes = [service.code for service in self.services]
        if len(set(codes)) != len(codes):
            raise ValueError("service codes must be unique")
        return self


class _Regency(_Strict):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    name: Text


_Catalogue.model_rebuild()


def load_catalogue(path: Path = DEFAULT_CATALOGUE) -> ServiceCatalogue:
    """Reads and checks the catalogue; raises InvalidCatalogue naming the file and the faults."""
    try:
        raw = _Catalogue.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidCatalogue(f"cannot read the service catalogue {path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors(include_url=False)
        )
        raise InvalidCatalogue(f"the service catalogue {path} is broken: {problems}") from None
    return ServiceCatalogue(
        [_service(item) for item in raw.services],
        regency=Regency(code=raw.regency.code, name=raw.regency.name),
    )


def _service(item: _Service) -> ServiceDefinition:
    return ServiceDefinition(
        code=item.code,
        name=item.name,
        group=item.group,
        description=item.description,
        help=item.help,
        deadline_working_days=item.deadline_working_days,
        in_person_only=item.in_person_only,
        channels=frozenset(item.channels),
        residents_only=item.residents_only,
        several_open_allowed=item.several_open_allowed,
        fields=tuple(
            FormField(
                name=field.name,
                label=field.label,
                type=field.type,
                required=field.required,
                help=field.help,
                max_length=field.max_length,
                choices=tuple(Choice(key=c.key, label=c.label) for c in field.choices),
                not_in_future=field.not_in_future,
            )
            for field in item.fields
        ),
        documents=tuple(
            DocumentRequirement(
                code=document.code,
                name=document.name,
                mandatory=document.mandatory,
                media_types=tuple(document.media_types),
                max_bytes=document.max_bytes,
                alternatives=tuple(document.alternatives),
            )
            for document in item.documents
        ),
    )
