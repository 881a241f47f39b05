"""Intake's HTTP API: thin translation between JSON and the use cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.intake.domain.catalogue import ServiceCatalogue, UnknownService
from services.intake.domain.citizen_request import CitizenRequest, InPersonOnly, SubmissionForm
from services.intake.domain.identity import InvalidIdentity, normalize_phone, validate_nik
from services.intake.service_layer import submission
from services.intake.service_layer.ports import RequestRepository
from shared.clock import Clock
from shared.events.models import NotificationChannel
from shared.http import ApiError
from shared.polling import OutboxReady


@dataclass(frozen=True)
class IntakeContext:
    """What the routes need, put together by bootstrap."""

    repository: RequestRepository
    catalogue: ServiceCatalogue
    outbox_ready: OutboxReady
    clock: Clock


def get_context(request: Request) -> IntakeContext:
    context: IntakeContext = request.app.state.context
    return context


ContextDep = Annotated[IntakeContext, Depends(get_context)]


class SubmitRequestBody(BaseModel):
    """A request for a civil-registration document."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    service_code: str = Field(
        min_length=1, max_length=40, description="Catalogue code, e.g. KK_BARU."
    )
    nik: Annotated[str, AfterValidator(validate_nik)] = Field(description="16-digit NIK.")
    name: str = Field(min_length=1, max_length=120, description="Full name as on the KK.")
    phone: Annotated[str, AfterValidator(normalize_phone)] = Field(description="Mobile number.")
    preferred_channel: NotificationChannel = Field(description="WHATSAPP or SMS.")


class RequestView(BaseModel):
    request_id: str
    service_code: str
    status: str
    submitted_at: datetime

    @classmethod
    def of(cls, request: CitizenRequest) -> RequestView:
        return cls(
            request_id=request.request_id,
            service_code=request.service_code,
            status=request.status.value,
            submitted_at=request.submitted_at,
        )


class ServiceView(BaseModel):
    code: str
    name: str
    requirements: list[str]
    deadline_working_days: int | None
    online: bool


UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT

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
    responses={200: {"description": "A retry with the same Idempotency-Key."}},
)
async def submit_request(
    body: SubmitRequestBody,
    context: ContextDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=8, max_length=200)] = None,
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
    except InvalidIdentity as exc:
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


@router.get("/requests/{request_id}", responses={404: {"description": "No such request."}})
async def get_request(request_id: str, context: ContextDep) -> RequestView:
    request = await submission.get_request(request_id=request_id, repository=context.repository)
    if request is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, "not_found", "Permohonan tidak ditemukan.")
    return RequestView.of(request)
