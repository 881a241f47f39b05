"""Complaints over HTTP: an illegal fee, rudeness, a delay, anything else about the office."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from services.intake.domain.callers import submitter
from services.intake.domain.complaints import MAX_DESCRIPTION, ComplaintForm, normalize_description
from services.intake.domain.identity import PHONE_PATTERN, normalize_phone
from services.intake.domain.tracking import normalize_tracking_number
from services.intake.entrypoints.message_caps import CAPPED, admit_message
from services.intake.service_layer import complaints
from services.intake.service_layer.message_caps import MessageCaps
from services.intake.service_layer.ports import ComplaintRepository, RequestRepository
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.events.models.complaints import ComplaintCategory
from shared.http.error_bodies import error_responses


@dataclass(frozen=True)
class ComplaintsContext:
    """What the complaint route needs, put together by bootstrap."""

    complaints: ComplaintRepository
    requests: RequestRepository
    clock: Clock
    message_caps: MessageCaps


ContextDep = Annotated[ComplaintsContext, Depends(provided(ComplaintsContext))]


def _optional_phone(value: str | None) -> str | None:
    return None if value is None else normalize_phone(value)


def _optional_tracking_number(value: str | None) -> str | None:
    return None if value is None else normalize_tracking_number(value)


class ComplaintBody(BaseModel):
    """A citizen's complaint; every service of the office is free of charge."""

    model_config = ConfigDict(extra="forbid")

    category: ComplaintCategory = Field(
        description="ILLEGAL_FEE (someone asked for money: pungli), RUDENESS, DELAY or OTHER."
    )
    description: Annotated[str, AfterValidator(normalize_description)] = Field(
        min_length=1,
        max_length=MAX_DESCRIPTION,
        examples=["Petugas meminta uang Rp50.000 agar KK cepat jadi."],
        description="What happened, in the citizen's words. Stored in Unicode NFC with runs "
        "of whitespace made one space; control, bidirectional and invisible characters are "
        "refused, as is a text with nothing visible.",
    )
    tracking_number: Annotated[str | None, AfterValidator(_optional_tracking_number)] = Field(
        default=None,
        min_length=8,
        max_length=20,
        examples=["K7M2Q9XP"],
        description="The request it is about, if any; any case, spaces and hyphens ignored. "
        "An unknown number is refused with 422 `unknown_tracking_number`.",
    )
    anonymous: StrictBool = Field(
        default=False,
        description="Withholds who complains: no phone is taken, and the complaint is not tied "
        "to a sign-in.",
    )
    phone: Annotated[str | None, AfterValidator(_optional_phone)] = Field(
        default=None,
        json_schema_extra={"pattern": PHONE_PATTERN, "examples": ["081234567890"]},
        description="Where to answer (08…, 628…, +628…), stored as E.164. Required unless "
        "anonymous (a signed-in citizen's own number by default); refused if anonymous.",
    )


class ComplaintView(BaseModel):
    complaint_id: UUID = Field(description="The complaint's id, chosen by the server.")
    complaint_number: str = Field(
        description="What to quote when following it up: `ADU-` and 8 characters."
    )
    category: ComplaintCategory = Field(description="What it is about.")
    anonymous: bool = Field(description="Whether who complained was withheld.")
    filed_at: datetime = Field(description="When intake took it (UTC).")


router = APIRouter(prefix="/v1/complaints", tags=["complaints"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={429: CAPPED, **error_responses(408, 413, 422, 503)},
)
async def file_complaint(
    body: ComplaintBody, context: ContextDep, caller: CallerDep
) -> ComplaintView:
    """Files a complaint for the office and its integrity team."""
    form = ComplaintForm(
        category=body.category,
        description=body.description,
        anonymous=body.anonymous,
        phone=body.phone,
        tracking_number=body.tracking_number,
    )
    filer = submitter(caller)
    await admit_message(context.message_caps, filer, body.phone, context.clock())
    complaint = await complaints.file_complaint(
        form=form,
        filer=filer,
        complaints=context.complaints,
        requests=context.requests,
        now=context.clock(),
    )
    return ComplaintView(
        complaint_id=UUID(complaint.complaint_id),
        complaint_number=complaint.complaint_number,
        category=complaint.category,
        anonymous=complaint.anonymous,
        filed_at=complaint.filed_at,
    )
