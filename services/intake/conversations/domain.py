"""A guided conversation that fills in a request by chat: what it is made of, free of I/O.

Per phone number, a `Conversation` records the step it waits at and what the citizen answered so
far. Each message (`Content`) gives a `Turn`: the conversation as it is to be stored, the one
reply to send, and what the service layer must do around it (hold a fetched document, drop held
ones, submit). How each message is answered is in `turns` and `steps`, the wording in `replies`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.intake.domain.catalogue import (
    IntakeChannel,
    ServiceCatalogue,
    ServiceDefinition,
    UnknownService,
)
from services.intake.domain.citizen_request import RequestStatus, SubmissionForm
from services.intake.domain.tracking import TRACKING_PATTERN, normalize_tracking_number
from shared.events.models.values import NotificationChannel
from shared.files import MediaType

IDLE_LIMIT = timedelta(minutes=30)
MAX_NAME_LENGTH = 120
SKIP = "LEWATI"
CONFIRM = "YA"
KEYWORD_COMMANDS = frozenset({"JANJI", "ADUAN", "MASUK"})
"""Commands the conversation hands to the keyword channel: booking a visit, filing a complaint,
proving the phone to end a sign-in lockout."""
INTAKE_CHANNELS = {
    NotificationChannel.WHATSAPP: IntakeChannel.WHATSAPP,
    NotificationChannel.SMS: IntakeChannel.SMS,
}

_TRACKING = re.compile(TRACKING_PATTERN)


class Step(StrEnum):
    """What the conversation waits for."""

    IDLE = "IDLE"
    """Nothing asked yet (new, finished, cancelled or expired): a menu number (typed from an
    earlier menu, or sent by a list row or button) is taken as the choice, anything else gets
    the menu."""
    MENU = "MENU"
    NIK = "NIK"
    NAME = "NAME"
    FIELD = "FIELD"
    DOCUMENT = "DOCUMENT"
    CONFIRM = "CONFIRM"


@dataclass(frozen=True)
class HeldDocument:
    """A document received and held (by the service layer) until the request is submitted."""

    media_type: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class Conversation:
    """One phone number's conversation; `position` indexes the field or document asked for."""

    step: Step
    last_active: datetime
    service_code: str | None = None
    nik: str | None = None
    name: str | None = None
    answers: Mapping[str, str] = field(default_factory=dict)
    position: int = 0
    documents: Mapping[str, HeldDocument] = field(default_factory=dict)
    """Held documents by catalogue code."""


class FetchProblem(StrEnum):
    TOO_LARGE = "TOO_LARGE"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True)
class FetchedFile:
    """A photo or file fetched for the document `requirement`; its type read from its bytes."""

    requirement: str
    media_type: MediaType | None
    size_bytes: int
    sha256: str
    unreadable: str | None = None
    """Why the whole file does not open as the type it begins as, in Indonesian, if it does not."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Media:
    """A photo or file. `fetched` is None when no document was awaited, so none was fetched."""

    fetched: FetchedFile | FetchProblem | None = None


@dataclass(frozen=True)
class Unsupported:
    """A voice note, sticker, location, contact card…: nothing a form can use."""

    kind: str


Content = Text | Media | Unsupported


@dataclass(frozen=True)
class LookedUp:
    """A request found by its tracking number and owned by the phone asking."""

    status: RequestStatus
    expected_at: datetime


@dataclass(frozen=True)
class Turn:
    """The outcome of one message."""

    conversation: Conversation
    reply: str
    hold: str | None = None
    """Catalogue code of the fetched file to hold with the conversation."""
    drop: tuple[str, ...] = ()
    """Catalogue codes of held documents no longer needed."""
    submit: SubmissionForm | None = None
    """The form to submit; then `submitted` or `refused` gives the turn to store."""


def tracking_number_asked(content: Content) -> str | None:
    """The tracking number of a `STATUS <nomor>` message, if a valid one is given."""
    if not isinstance(content, Text):
        return None
    words = content.text.split()
    if len(words) < 2 or words[0].upper() != "STATUS":
        return None
    number = normalize_tracking_number("".join(words[1:]))
    return number if _TRACKING.fullmatch(number) else None


def keyword_command(content: Content) -> bool:
    """Whether the message is a `JANJI`, `ADUAN` or `MASUK` command, answered outside the
    conversation."""
    if not isinstance(content, Text):
        return False
    words = content.text.split()
    return bool(words) and words[0].upper() in KEYWORD_COMMANDS


def unexpired(conversation: Conversation | None, now: datetime) -> Conversation | None:
    """The conversation, unless it was left alone too long."""
    if conversation is None or now - conversation.last_active >= IDLE_LIMIT:
        return None
    return conversation


def in_form(conversation: Conversation) -> bool:
    return conversation.step not in (Step.IDLE, Step.MENU)


def touched(conversation: Conversation, now: datetime) -> Conversation:
    return replace(conversation, last_active=now)


def service_of(conversation: Conversation, catalogue: ServiceCatalogue) -> ServiceDefinition | None:
    """The conversation's service, unless the catalogue no longer has it or its question."""
    if conversation.service_code is None:
        return None
    try:
        service = catalogue.get(conversation.service_code)
    except UnknownService:
        return None
    asked = {Step.FIELD: service.fields, Step.DOCUMENT: service.documents}.get(conversation.step)
    if asked is not None and conversation.position >= len(asked):
        return None
    return service
