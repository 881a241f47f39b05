"""What the requests API takes and gives: the request form, the lookup and a request as its
caller may see it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from services.intake.domain.callers import Visibility, mask_nik, mask_phone
from services.intake.domain.citizen_request import CitizenRequest, RequestStatus
from services.intake.domain.identity import (
    NIK_PATTERN,
    PHONE_PATTERN,
    Sex,
    normalize_phone,
    validate_nik_digits,
)
from services.intake.domain.text import name_pattern, normalize_name
from services.intake.domain.tracking import normalize_tracking_number
from shared.events.models.values import NotificationChannel


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
