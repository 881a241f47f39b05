"""Complaints about the office: an illegal fee (pungli), rudeness, a delay, anything else.

Every service is free, so a report of a fee is the integrity team's business as much as the
office's. A citizen may complain anonymously: then neither their phone number nor who they signed
in as goes with the complaint, so the officers complained about cannot learn who it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.intake.domain.chats import acknowledged_on
from services.intake.domain.identity import InvalidIdentity, normalize_phone
from services.intake.domain.text import InvalidText, clean_text
from services.intake.domain.tracking import new_tracking_number
from shared.events.envelope import Actor, ActorKind, Event
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled

NUMBER_PREFIX = "ADU-"
MAX_DESCRIPTION = 2000
ANONYMOUS = "anonymous"


def new_complaint_number() -> str:
    """`ADU-` and 8 tracking-number symbols: told apart from a tracking number at a glance."""
    return NUMBER_PREFIX + new_tracking_number()


def normalize_description(value: str) -> str:
    """The citizen's words as stored: cleaned like any free text, not empty, not too long."""
    description = clean_text(value)
    if not description:
        raise InvalidText("Uraian pengaduan wajib diisi.")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidText(f"Uraian pengaduan paling panjang {MAX_DESCRIPTION} karakter.")
    return description


@dataclass(frozen=True)
class ComplaintForm:
    """What a citizen tells, from any channel; `tracking_number` ties it to a request."""

    category: ComplaintCategory
    description: str
    anonymous: bool
    phone: str | None = None
    tracking_number: str | None = None


@dataclass
class Complaint:
    complaint_id: str
    complaint_number: str
    category: ComplaintCategory
    description: str
    request_id: str | None
    anonymous: bool
    phone: str | None
    filed_by: Actor
    filed_at: datetime
    events: list[Event] = field(default_factory=list)


def file_complaint(
    *,
    complaint_id: str,
    complaint_number: str,
    form: ComplaintForm,
    request_id: str | None,
    filer: Actor,
    now: datetime,
) -> Complaint:
    """Checks a complaint and turns it into one carrying its `ComplaintFiled` event.

    An anonymous complaint carries no phone and is attributed to no one: the actor is an
    anonymous citizen on the channel it came from.
    """
    description = normalize_description(form.description)
    if form.anonymous and form.phone is not None:
        raise InvalidIdentity(
            "Pengaduan anonim tidak mencantumkan nomor HP; kosongkan nomor HP atau pilih "
            "pengaduan tidak anonim."
        )
    if not form.anonymous and form.phone is None:
        raise InvalidIdentity(
            "Nomor HP wajib diisi agar petugas dapat menanggapi, kecuali pengaduan anonim."
        )
    phone = None if form.phone is None else normalize_phone(form.phone)
    actor = (
        Actor(kind=ActorKind.CITIZEN, id=ANONYMOUS, channel=filer.channel)
        if form.anonymous
        else filer
    )
    complaint = Complaint(
        complaint_id=complaint_id,
        complaint_number=complaint_number,
        category=form.category,
        description=description,
        request_id=request_id,
        anonymous=form.anonymous,
        phone=phone,
        filed_by=actor,
        filed_at=now,
    )
    complaint.events.append(
        ComplaintFiled(
            actor=actor,
            complaint_id=complaint_id,
            complaint_number=complaint_number,
            category=form.category,
            description=description,
            request_id=request_id,
            anonymous=form.anonymous,
            phone=phone,
            filed_at=now,
            acknowledged_on=acknowledged_on(actor),
        )
    )
    return complaint
