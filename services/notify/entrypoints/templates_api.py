"""A template as a citizen would read it, rendered with its sample values: for supervisors and
admins rewording the templates file, with the SMS segments it takes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from services.notify.domain.templates import Templates
from shared.dependencies import provided
from shared.events.models.values import DeliveryChannel
from shared.http.error_bodies import error_response

router = APIRouter(prefix="/v1/templates", tags=["templates"])


TemplatesDep = Annotated[Templates, Depends(provided(Templates))]


class ApprovedTemplateView(BaseModel):
    name: str = Field(description="The template's name as approved by Meta.")
    language: str = Field(description="Its language code, e.g. `id`.")
    parameters: list[str] = Field(description="The parameters' values, in the approved order.")


class PreviewView(BaseModel):
    name: str = Field(description="The template's name in the templates file.")
    channel: DeliveryChannel
    subject: str | None = Field(description="An e-mail's subject; none for other channels.")
    text: str = Field(description="The text as the citizen reads it.")
    whatsapp_template: ApprovedTemplateView | None = Field(
        description="What a WhatsApp gateway is asked to send; none for other channels."
    )
    characters: int = Field(description="Length of the text.")
    segments: int | None = Field(
        description="SMS segments the text takes (160 GSM-7 characters in one); none for "
        "other channels."
    )
    max_segments: int | None = Field(
        description="The segments the file allows the SMS with any realistic values: one, "
        "unless it says why more; none for other channels."
    )


@router.get(
    "/{name}/preview",
    responses={
        status.HTTP_404_NOT_FOUND: error_response(
            status.HTTP_404_NOT_FOUND, "No template has this name (`unknown_template`)."
        ),
        status.HTTP_422_UNPROCESSABLE_CONTENT: error_response(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "The channel is missing or not WHATSAPP, SMS or EMAIL.",
        ),
    },
)
async def preview(
    name: str,
    templates: TemplatesDep,
    channel: Annotated[DeliveryChannel, Query(description="WHATSAPP, SMS or EMAIL.")],
) -> PreviewView:
    """One template rendered with the sample values the templates file declares."""
    template = templates.get(name)
    rendered = templates.preview(name, channel)
    sms = channel is DeliveryChannel.SMS
    approved = rendered.approved_template
    return PreviewView(
        name=name,
        channel=channel,
        subject=rendered.subject,
        text=rendered.text,
        whatsapp_template=None
        if approved is None
        else ApprovedTemplateView(
            name=approved.name, language=approved.language, parameters=list(approved.parameters)
        ),
        characters=len(rendered.text),
        segments=rendered.segments if sms else None,
        max_segments=template.sms.max_segments if sms else None,
    )
