"""Intake's HTTP API: the context every intake router shares, and the service catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, Field

from services.intake.domain.catalogue import (
    FieldType,
    FormField,
    IntakeChannel,
    ServiceCatalogue,
    ServiceDefinition,
    ServiceNotFound,
    UnknownService,
)
from services.intake.service_layer.message_caps import MessageCaps
from services.intake.service_layer.ports import (
    CitizenTokens,
    IdempotencyKeyRepository,
    RequestRepository,
)
from services.intake.service_layer.sign_in import SignInContext
from shared.calendar import WorkingCalendar
from shared.clock import Clock
from shared.counts import Counts
from shared.dependencies import provided
from shared.files import MediaType
from shared.http.error_bodies import error_response, error_responses


@dataclass(frozen=True)
class IntakeContext:
    """What the routes need, put together by bootstrap."""

    repository: RequestRepository
    idempotency_keys: IdempotencyKeyRepository
    catalogue: ServiceCatalogue
    sign_in: SignInContext
    citizen_tokens: CitizenTokens
    calendar: WorkingCalendar
    clock: Clock
    counts: Counts
    message_caps: MessageCaps
    wrong_lookups_per_hour: int = 5


ContextDep = Annotated[IntakeContext, Depends(provided(IntakeContext))]


class ServiceView(BaseModel):
    """One service of the catalogue, named as in Open311 GeoReport v2's service list."""

    service_code: str = Field(description="What `service_code` names it by.")
    service_name: str = Field(description="Its name in Indonesian.")
    description: str = Field(description="What it is for, in Indonesian.")
    metadata: bool = Field(
        description="Whether its form has fields of its own (`GET /v1/services/{code}`)."
    )
    type: str = Field(
        description="Open311 `batch`: the office answers later, by the deadline, not at once."
    )
    keywords: str = Field(description="Words to find it by, comma separated.")
    group: str = Field(description="The kind of document, e.g. `Kartu Keluarga`.")
    help: str = Field(description="What to prepare, in plain Indonesian.")
    requirements: list[str] = Field(description="Documents the citizen needs, in Indonesian.")
    deadline_working_days: int | None = Field(
        description="Working days the office takes; none for a booked visit."
    )
    online: bool = Field(description="Whether it can be submitted here rather than in person.")
    channels: list[IntakeChannel] = Field(
        description="Where it can be applied for (or, in person, booked) from."
    )

    @classmethod
    def of(cls, service: ServiceDefinition) -> ServiceView:
        return cls(
            service_code=service.code,
            service_name=service.name,
            description=service.description,
            metadata=bool(service.fields),
            type="batch",
            keywords=", ".join((service.code, service.group)),
            group=service.group,
            help=service.help,
            requirements=list(service.requirements),
            deadline_working_days=service.deadline_working_days,
            online=service.online,
            channels=sorted(service.channels),
        )


class AttributeValue(BaseModel):
    key: str = Field(description="What to send as the field's value.")
    name: str = Field(description="What a citizen reads, in Indonesian.")


_DATATYPES = {
    FieldType.TEXT: ("string", "Teks bebas."),
    FieldType.DATE: ("datetime", "Tanggal dengan format TTTT-BB-HH."),
    FieldType.CHOICE: ("singlevaluelist", "Salah satu nilai `key` di `values`."),
    FieldType.NIK: ("string", "NIK: 16 angka."),
    FieldType.FAMILY_CARD: ("string", "Nomor Kartu Keluarga: 16 angka."),
}


class AttributeView(BaseModel):
    """One field of a service's form, as an Open311 GeoReport v2 attribute."""

    variable: bool = Field(description="Always true: the citizen fills it in.")
    code: str = Field(description="The field's name in `fields` of `POST /v1/requests`.")
    datatype: str = Field(description="Open311 datatype: string, datetime or singlevaluelist.")
    required: bool = Field(description="Whether a submission without it is refused.")
    datatype_description: str = Field(description="What a valid value looks like.")
    order: int = Field(description="Where it comes in the form, from 1.")
    description: str = Field(description="The question, in Indonesian.")
    help: str = Field(description="How to answer it, in Indonesian.")
    max_length: int = Field(description="Longest answer taken.")
    values: list[AttributeValue] = Field(description="The choices of a singlevaluelist.")

    @classmethod
    def of(cls, field: FormField, order: int) -> AttributeView:
        datatype, described = _DATATYPES[field.type]
        if field.not_in_future:
            described += " Tidak boleh di masa depan."
        return cls(
            variable=True,
            code=field.name,
            datatype=datatype,
            required=field.required,
            datatype_description=described,
            order=order,
            description=field.label,
            help=field.help,
            max_length=field.max_length,
            values=[AttributeValue(key=c.key, name=c.label) for c in field.choices],
        )


class DocumentView(BaseModel):
    code: str = Field(description="What to name it by when uploading it.")
    name: str = Field(description="The document, in Indonesian.")
    mandatory: bool = Field(description="Whether the office verifies only once it is there.")
    alternatives: list[str] = Field(description="Other documents that serve instead.")
    media_types: list[MediaType] = Field(description="File types taken, known by their bytes.")
    max_bytes: int = Field(description="Largest file taken.")


class ServiceDefinitionView(ServiceView):
    """A service with its form, as Open311 GeoReport v2's service definition, and its documents."""

    attributes: list[AttributeView] = Field(description="The service's own form fields.")
    documents: list[DocumentView] = Field(description="The documents to send with it.")

    @classmethod
    def of(cls, service: ServiceDefinition) -> ServiceDefinitionView:
        return cls(
            **ServiceView.of(service).model_dump(),
            attributes=[
                AttributeView.of(field, order) for order, field in enumerate(service.fields, 1)
            ],
            documents=[
                DocumentView(
                    code=document.code,
                    name=document.name,
                    mandatory=document.mandatory,
                    alternatives=list(document.alternatives),
                    media_types=list(document.media_types),
                    max_bytes=document.max_bytes,
                )
                for document in service.documents
            ],
        )


router = APIRouter(prefix="/v1")


@router.get("/services")
async def list_services(context: ContextDep) -> list[ServiceView]:
    """The catalogue, sorted by code (Open311 GeoReport v2 service list)."""
    return [ServiceView.of(service) for service in context.catalogue.all()]


@router.get(
    "/services/{service_code}",
    responses={
        404: error_response(status.HTTP_404_NOT_FOUND, "No service has this code."),
        **error_responses(422),
    },
)
async def get_service(
    service_code: Annotated[str, Path(max_length=40, description="The service's code.")],
    context: ContextDep,
) -> ServiceDefinitionView:
    """One service with its form fields and documents (Open311 GeoReport v2 service
    definition)."""
    try:
        service = context.catalogue.get(service_code)
    except UnknownService:
        raise ServiceNotFound from None
    return ServiceDefinitionView.of(service)
