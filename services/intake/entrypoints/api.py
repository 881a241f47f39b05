"""Intake's HTTP API: thin translation between JSON and the use cases."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from services.intake.domain.callers import (
    RequestNotFound,
    Visibility,
    admit,
    mask_nik,
    mask_phone,
    submitter,
    visibility,
)
from services.intake.domain.catalogue import (
    FieldType,
    FormField,
    IntakeChannel,
    ServiceCatalogue,
    ServiceDefinition,
    ServiceNotFound,
    UnknownService,
)
from services.intake.domain.citizen_request import (
    CitizenRequest,
    NotCancellable,
    NotWaitingForFixes,
    RequestStatus,
    SubmissionForm,
)
from services.intake.domain.identity import (
    NIK_PATTERN,
    PHONE_PATTERN,
    Sex,
    normalize_phone,
    validate_nik_digits,
)
from services.intake.domain.text import name_pattern, normalize_name
from services.intake.domain.tracking import TRACKING_PATTERN, normalize_tracking_number
from services.intake.entrypoints.message_caps import CAPPED, admit_message
from services.intake.service_layer import submission
from services.intake.service_layer.message_caps import MessageCaps
from services.intake.service_layer.ports import (
    CitizenTokens,
    IdempotencyKeyRepository,
    RequestRepository,
)
from services.intake.service_layer.sign_in import SignInContext
from shared.access import CallerDep
from shared.calendar import WorkingCalendar
from shared.clock import Clock
from shared.counts import Counts
from shared.dependencies import provided
from shared.errors import Refusal
from shared.events.envelope import Actor
from shared.events.models.values import NotificationChannel
from shared.files import MediaType
from shared.http.error_bodies import error_response, error_responses
from shared.identity import Principal


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


def _optional(check: Callable[[str], str]) -> Callable[[str | None], str | None]:
    def checked(value: str | None) -> str | None:
        return None if value is None else check(value)

    return checked


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
        description="Full name as on the KK, on one line, stored in Unicode NFC with runs of "
        "spaces made one space. It must hold a visible character, and no control characters "
        "(tabs and line breaks included), bidirectional controls or other invisible format "
        "characters (Unicode categories Cc and Cf, in every plane).",
    )
    phone: Annotated[str | None, AfterValidator(_optional(normalize_phone))] = Field(
        default=None,
        json_schema_extra=_pattern(PHONE_PATTERN, "081234567890", "+62 812-3456-7890"),
        description="Indonesian mobile number: 08…, 628… or +628… followed by 7 to 11 digits, "
        "with spaces, dots, hyphens or brackets anywhere. Stored as E.164 (+628…). Required, "
        "except from a village operator or counter officer for a citizen without a phone (the "
        "operator is then notified instead).",
    )
    preferred_channel: NotificationChannel = Field(
        description="Where the citizen hears about the request."
    )
    fields: dict[
        Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")],
        Annotated[str, StringConstraints(max_length=2000)],
    ] = Field(
        default_factory=dict,
        max_length=40,
        examples=[{"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"}],
        description="The service's own form fields by name, as `GET /v1/services/{code}` lists "
        "them (`attributes`); a missing required field, an unknown one or a wrong value is "
        "refused with 422 `invalid_form`, naming the field.",
    )
    date_of_birth: date | None = Field(
        default=None, description="If given, it must agree with the birth date in the NIK."
    )
    sex: Sex | None = Field(
        default=None,
        description="L or P, as on the KK; if given, it must agree with the NIK (women's birth "
        "day has 40 added).",
    )
    consent: StrictBool = Field(
        default=False,
        description="A village operator or counter officer submitting for a citizen records "
        "here (JSON `true`, nothing else) that the citizen agreed; without it they get 422 "
        "`consent_required`.",
    )


class ApplicantView(BaseModel):
    """Who the request is for; NIK and phone masked unless the caller handles the papers."""

    name: str = Field(description="Full name as given.")
    nik: str = Field(description="The NIK, or only its last four digits (`************0001`).")
    phone: str | None = Field(
        description="The phone number, or only its last digits; none if the citizen has no phone."
    )
    preferred_channel: NotificationChannel = Field(description="Where notifications go.")


class StatusChangeView(BaseModel):
    status: RequestStatus = Field(description="The status the request moved to.")
    at: datetime = Field(description="When (UTC).")
    note: str | None = Field(
        default=None,
        description="What the citizen needs to know, in Indonesian: what to fix, how to collect "
        "the document, why it was refused.",
    )
    documents: list[str] = Field(
        default=[],
        description="On a send-back: catalogue codes of the documents to send again.",
    )


class RequestView(BaseModel):
    """A request as its caller may see it."""

    request_id: UUID = Field(description="The request's id, chosen by the server.")
    tracking_number: str = Field(
        description="8 characters to read over the phone or type on a feature phone; with the "
        "NIK's last four digits it finds the request at `POST /v1/lookup`."
    )
    service_code: str = Field(description="Catalogue code of the service asked for.")
    status: RequestStatus = Field(description="Where the request stands.")
    submitted_at: datetime = Field(description="When intake accepted the request (UTC).")
    expected_datetime: datetime = Field(
        description="When the document is due (UTC): the service's deadline in working days, "
        "counted on the office's calendar from submission (Open311 `expected_datetime`)."
    )
    missing_documents: list[str] = Field(
        description="Catalogue codes of mandatory documents still to be sent "
        "(`POST /v1/requests/{request_id}/documents`); the office verifies once none is missing."
    )
    history: list[StatusChangeView] = Field(description="Every status it had, oldest first.")
    documents_to_send_again: list[str] = Field(
        description="While the office waits for fixes: the documents it asked to be sent again, "
        "the only ones that may be replaced (others get 409 `not_requested`)."
    )
    applicant: ApplicantView | None = Field(
        default=None,
        description="Present for callers with a token: the citizen (masked), or the village "
        "operator or counter officer who handles the request (in full).",
    )

    @classmethod
    def of(cls, request: CitizenRequest, seen_as: Visibility | None = None) -> RequestView:
        applicant = request.applicant
        shown = None
        if seen_as in (Visibility.FULL, Visibility.MASKED):
            full = seen_as is Visibility.FULL
            shown = ApplicantView(
                name=applicant.name,
                nik=applicant.nik if full else mask_nik(applicant.nik),
                phone=applicant.phone
                if full or applicant.phone is None
                else mask_phone(applicant.phone),
                preferred_channel=applicant.preferred_channel,
            )
        return cls(
            request_id=UUID(request.request_id),
            tracking_number=request.tracking_number,
            service_code=request.service_code,
            status=request.status,
            submitted_at=request.submitted_at,
            expected_datetime=request.expected_at,
            missing_documents=request.missing_documents,
            history=[
                StatusChangeView(
                    status=change.status,
                    at=change.at,
                    note=change.note,
                    documents=list(change.documents),
                )
                for change in request.history
            ],
            documents_to_send_again=list(request.documents_to_send_again),
            applicant=shown,
        )


class LookupBody(BaseModel):
    """A request's tracking number and a second factor only its citizen knows."""

    model_config = ConfigDict(extra="forbid")

    tracking_number: Annotated[str, AfterValidator(normalize_tracking_number)] = Field(
        min_length=8,
        max_length=20,
        json_schema_extra={"examples": ["K7M2Q9XP"]},
        description="As given at submission; any case, spaces and hyphens ignored.",
    )
    nik_last4: str = Field(
        pattern=r"^[0-9]{4}$", examples=["0001"], description="The NIK's last four digits."
    )


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
            status.HTTP_409_CONFLICT,
            "`idempotency_conflict`: the Idempotency-Key was used before for another form. "
            "`already_open`: the NIK has a request for the service that is not closed yet and "
            "the service allows one at a time; the message names its tracking number, in full "
            "only to the phone the caller proved (a citizen's token) or the village operator or "
            "counter officer who may see it, else its last three characters.",
        ),
        429: CAPPED,
        **error_responses(408, 413, 422, 503),
    },
)
async def submit_request(
    body: SubmitRequestBody,
    context: ContextDep,
    caller: CallerDep,
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
        fields=body.fields,
        date_of_birth=body.date_of_birth,
        sex=body.sex,
        consent=body.consent,
    )
    who = submitter(caller)
    await admit_message(context.message_caps, who, body.phone, context.clock())
    outcome = await submission.submit_request(
        form=form,
        submitter=who,
        idempotency_key=idempotency_key,
        repository=context.repository,
        idempotency_keys=context.idempotency_keys,
        catalogue=context.catalogue,
        calendar=context.calendar,
        now=context.clock(),
    )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/requests/{outcome.request.request_id}"
    seen_as = visibility(caller, outcome.request) if caller is not None else None
    return RequestView.of(outcome.request, seen_as)


@router.get(
    "/requests/{request_id}",
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        **error_responses(422, 503),
    },
)
async def get_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """A citizen gets 404 for another citizen's request, exactly as for one that does not
    exist; a village operator or counter officer gets 403 outside their village or service
    point."""
    request, seen_as = await _visible(str(request_id), caller, context)
    return RequestView.of(request, seen_as)


async def _visible(
    request_id: str, caller: Principal | None, context: IntakeContext
) -> tuple[CitizenRequest, Visibility]:
    """The request as the caller may see it; 404 for a citizen's request that is not theirs,
    403 for one outside an operator's village or an officer's service point."""
    assert caller is not None, "the access table admits only callers with a token"
    request = await submission.get_request(request_id=request_id, repository=context.repository)
    if request is None:
        raise RequestNotFound
    seen_as = visibility(caller, request)
    admit(seen_as)
    return request, seen_as


@router.post(
    "/requests/{request_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        409: error_response(
            status.HTTP_409_CONFLICT, "The office began verifying it: it cannot be withdrawn."
        ),
        **error_responses(422, 503),
    },
)
async def cancel_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """Withdraws a request the office has not begun to verify; its status becomes CANCELLED
    once processing closed the case."""
    return await _citizen_step(
        str(request_id),
        caller,
        context,
        lambda request, actor, now: request.cancel(actor, now=now),
        refused=NotCancellable,
    )


@router.post(
    "/requests/{request_id}/resubmit",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        409: error_response(
            status.HTTP_409_CONFLICT, "The office did not ask for anything to be fixed."
        ),
        **error_responses(422, 503),
    },
)
async def resubmit_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """Sends back a request after fixing what the office asked for (status NEEDS_REVISION);
    verification resumes, and the deadline moves by the time the fixing took."""
    return await _citizen_step(
        str(request_id),
        caller,
        context,
        lambda request, actor, now: request.resubmit(actor, now=now),
        refused=NotWaitingForFixes,
    )


async def _citizen_step(
    request_id: str,
    caller: Principal | None,
    context: IntakeContext,
    step: Callable[[CitizenRequest, Actor, datetime], None],
    *,
    refused: Callable[[], Refusal],
) -> RequestView:
    """Takes a step of the citizen (or who submitted for them) on a request they may see;
    `refused` is the step's refusal when its status does not allow it, or changed meanwhile."""
    request, seen_as = await _visible(request_id, caller, context)
    now = context.clock()
    actor = submitter(caller).actor
    await submission.act_on_request(
        request=request,
        step=lambda request: step(request, actor, now),
        refused=refused,
        repository=context.repository,
        now=now,
    )
    return RequestView.of(request, seen_as)


_LOCKED = error_response(
    status.HTTP_429_TOO_MANY_REQUESTS,
    "`rate_limited`: too many calls from this client. `locked`: this tracking number was tried "
    "with wrong digits too often this hour, from anywhere. `Retry-After` says how long to wait.",
)


@router.post(
    "/lookup",
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this tracking number and NIK ending."
        ),
        429: _LOCKED,
        **error_responses(413, 408, 422, 503),
    },
)
async def look_up_request(body: LookupBody, context: ContextDep) -> RequestView:
    """For a citizen who did not sign in: the status, without personal data."""
    request = None
    if re.fullmatch(TRACKING_PATTERN, body.tracking_number):
        request = await submission.look_up(
            tracking_number=body.tracking_number,
            nik_last4=body.nik_last4,
            repository=context.repository,
            counts=context.counts,
            wrong_per_hour=context.wrong_lookups_per_hour,
            now=context.clock(),
        )
    if request is None:
        raise RequestNotFound
    return RequestView.of(request)
