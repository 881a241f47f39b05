"""Intake's HTTP API: thin translation between JSON and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.intake.domain.catalogue import ServiceCatalogue, UnknownService
from services.intake.domain.citizen_request import (
    CitizenRequest,
    InPersonOnly,
    RequestStatus,
    SubmissionForm,
)
from services.intake.domain.identity import (
    NIK_PATTERN,
    PHONE_PATTERN,
    InvalidIdentity,
    normalize_phone,
    validate_nik_digits,
)
from services.intake.domain.text import InvalidText, name_pattern, normalize_name
from services.intake.service_layer import submission
from services.intake.service_layer.ports import IdempotencyKeyRepository, RequestRepository
from shared.clock import Clock
from shared.events.models import NotificationChannel
from shared.http import ApiError, error_response, error_responses
from shared.polling import OutboxReady


@dataclass(frozen=True)
class IntakeContext:
    """What the routes need, put together by bootstrap."""

    repository: RequestRepository
    idempotency_keys: IdempotencyKeyRepository
    catalogue: ServiceCatalogue
    outbox_ready: OutboxReady
    clock: Clock


def get_context(request: Request) -> IntakeContext:
    context: IntakeContext = request.app.state.context
    return context


ContextDep = Annotated[IntakeContext, Depends(get_context)]


def _pattern(pattern: str, *examples: str) -> dict[str, Any]:
    """A pattern for the OpenAPI document only; the field's validator enforces it, with reasons a
    citizen can read."""
    return {"pattern": pattern, "examples": list(examples)}


class SubmitRequestBody(BaseModel):
    """A request for a civil-registration document."""

    model_config = ConfigDict(extra="forbid")

    service_code: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Z][A-Z0-9_]*$",
        examples=["KK_BARU"],
        description="Code of an online service in the catalogue (`GET /v1/services`). "
        "Refused with 422 `unknown_service` if the catalogue has no such code, and with 422 "
        "`in_person_only` if the service is done at the office.",
    )
    nik: Annotated[str, AfterValidator(validate_nik_digits)] = Field(
        json_schema_extra=_pattern(NIK_PATTERN, "3516091204800001"),
        description="The applicant's 16-digit NIK (PPRRSSDDMMYYNNNN). Beyond the pattern, a NIK "
        "is refused with 422 if its birth date (DD has 40 added for women) is not a real date "
        "or its region code PPRR is not a known regency.",
    )
    name: Annotated[str, AfterValidator(normalize_name)] = Field(
        min_length=1,
        max_length=120,
        json_schema_extra=_pattern(name_pattern(), "Siti Aminah"),
        description="Full name as on the KK, stored in Unicode NFC with runs of whitespace made "
        "one space. It must hold a visible character, and no control characters (tabs and line "
        "breaks count as spaces), bidirectional controls or other invisible format characters "
        "(Unicode categories Cc and Cf, in every plane).",
    )
    phone: Annotated[str, AfterValidator(normalize_phone)] = Field(
        json_schema_extra=_pattern(PHONE_PATTERN, "081234567890", "+62 812-3456-7890"),
        description="Indonesian mobile number: 08…, 628… or +628… followed by 7 to 11 digits, "
        "with spaces, dots, hyphens or brackets anywhere. Stored as E.164 (+628…).",
    )
    preferred_channel: NotificationChannel = Field(
        description="Where the citizen hears about the request."
    )


class RequestView(BaseModel):
    """A request as its citizen may see it."""

    request_id: UUID = Field(description="The request's id, chosen by the server.")
    service_code: str = Field(description="Catalogue code of the service asked for.")
    status: RequestStatus = Field(description="Where the request stands.")
    submitted_at: datetime = Field(description="When intake accepted the request (UTC).")

    @classmethod
    def of(cls, request: CitizenRequest) -> RequestView:
        return cls(
            request_id=UUID(request.request_id),
            service_code=request.service_code,
            status=request.status,
            submitted_at=request.submitted_at,
        )


class ServiceView(BaseModel):
    """One service of the catalogue."""

    code: str = Field(description="What `service_code` names it by.")
    name: str = Field(description="Its name in Indonesian.")
    requirements: list[str] = Field(description="Documents the citizen needs, in Indonesian.")
    deadline_working_days: int | None = Field(
        description="Working days the office takes; none for a booked visit."
    )
    online: bool = Field(description="Whether it can be submitted here rather than in person.")


UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT
_LOCATION = {
    "Location": {
        "description": "Where the request can be looked up.",
        "required": True,
        "schema": {"type": "string"},
    }
}

router = APIRouter(prefix="/v1")


@router.get("/services")
async def list_services(context: ContextDep) -> list[ServiceView]:
    return [
        ServiceView(
            code=service.code,
            name=service.name,
            requirements=list(service.requirements),
            deadline_working_days=service.deadline_working_days,
            online=service.online,
        )
        for service in context.catalogue.all()
    ]


@router.post(
    "/requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_description="The request was accepted.",
    responses={
        202: {"headers": _LOCATION},
        200: {
            "model": RequestView,
            "headers": _LOCATION,
            "description": "A retry with the same Idempotency-Key and form: the request it made.",
        },
        409: error_response(
            status.HTTP_409_CONFLICT, "The Idempotency-Key was used before for another form."
        ),
        **error_responses(408, 413, 422, 503),
    },
)
async def submit_request(
    body: SubmitRequestBody,
    context: ContextDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=8,
            max_length=200,
            pattern=r"^[!-~]+$",
            description="A value the client chooses (printable ASCII, no spaces), e.g. a UUID. "
            "A retry with the same key and form answers 200 with the request the first made "
            "instead of making another; with another form, 409.",
        ),
    ] = None,
) -> RequestView:
    form = SubmissionForm(
        service_code=body.service_code,
        nik=body.nik,
        name=body.name,
        phone=body.phone,
        preferred_channel=body.preferred_channel,
    )
    try:
        outcome = await submission.submit_request(
            form=form,
            idempotency_key=idempotency_key,
            repository=context.repository,
            idempotency_keys=context.idempotency_keys,
            catalogue=context.catalogue,
            outbox_ready=context.outbox_ready,
            now=context.clock(),
        )
    except UnknownService as exc:
        raise ApiError(
            UNPROCESSABLE, "unknown_service", f"Layanan '{exc.code}' tidak dikenal."
        ) from None
    except InPersonOnly as exc:
        raise ApiError(
            UNPROCESSABLE,
            "in_person_only",
            f"Layanan {exc.code} harus dilakukan langsung di kantor; silakan buat janji kunjungan.",
        ) from None
    except (InvalidIdentity, InvalidText) as exc:
        raise ApiError(UNPROCESSABLE, "invalid_request", str(exc)) from None
    except submission.IdempotencyConflict:
        raise ApiError(
            status.HTTP_409_CONFLICT,
            "idempotency_conflict",
            "Idempotency-Key ini sudah dipakai untuk permohonan dengan isi yang berbeda.",
        ) from None
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/requests/{outcome.request.request_id}"
    return RequestView.of(outcome.request)


@router.get(
    "/requests/{request_id}",
    responses={
        404: error_response(status.HTTP_404_NOT_FOUND, "No request has this id."),
        **error_responses(422, 503),
    },
)
async def get_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
) -> RequestView:
    request = await submission.get_request(
        request_id=str(request_id), repository=context.repository
    )
    if request is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, "not_found", "Permohonan tidak ditemukan.")
    return RequestView.of(request)
