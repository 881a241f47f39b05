"""Version 1 of the events on `adminduk.letters.v1`: official letters and their dispositions."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import Event
from shared.events.models.values import PERSONAL
from shared.events.topics import LETTERS, Topic


class LetterEvent(Event):
    """A step in an official letter's life; `state` is where the letter stands after it."""

    topic: ClassVar[Topic] = LETTERS

    letter_id: str = Field(
        description="The letter's id, `{year}-{agenda number:05d}`; the key of all its events."
    )
    state: str = Field(description="The letter's state after the step.")
    at: datetime = Field(description="When the step was taken (UTC).")

    @property
    def subject(self) -> str:
        return self.letter_id


class LetterRegistered(LetterEvent):
    """A letter clerk registered an incoming letter and it got its agenda number."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.registered.v1"

    agenda_number: int = Field(description="The office's agenda number, in order within the year.")
    sender: str = Field(
        description="Who sent the letter; may be a person.", json_schema_extra=PERSONAL
    )
    reference_number: str = Field(description="The sender's own number of the letter.")
    letter_date: date = Field(description="The date the sender gave the letter.")
    regarding: str = Field(
        description="What the letter is about (perihal); may name people.",
        json_schema_extra=PERSONAL,
    )
    classification: str = Field(description="The filing classification code, e.g. 470.")
    urgency: str = Field(description="biasa, segera or sangat_segera.")
    confidentiality: str = Field(description="biasa, terbatas or rahasia.")
    due_at: datetime = Field(description="When the reply is due (UTC).")
    service_point: str = Field(description="The office that received the letter.")


class LetterScanAttached(LetterEvent):
    """The scanned letter was stored."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.scan_attached.v1"

    media_type: str = Field(description="The sniffed type of the scan.")
    size_bytes: int = Field(description="Size of the scan in bytes.")


class LetterDisposed(LetterEvent):
    """The letter was disposed to an official, by the head of office or down a chain."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposed.v1"

    disposition_id: str = Field(description="The disposition's id within the letter, e.g. D2.")
    parent_id: str | None = Field(description="The disposition it passes on, if any.")
    to_official: str = Field(description="Who must act on it (token subject).")
    to_unit: str = Field(description="The official's unit (service point).")
    instruction: str = Field(description="The instruction's code from the office's list.")
    note: str | None = Field(
        description="Free text with the instruction; may name people.", json_schema_extra=PERSONAL
    )
    due_at: datetime = Field(description="When it must be followed up (UTC).")


class DispositionRead(LetterEvent):
    """The official opened the disposition given to them."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_read.v1"

    disposition_id: str = Field(description="The disposition read.")


class DispositionWithdrawn(LetterEvent):
    """The one who disposed took back a disposition before it was read."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_withdrawn.v1"

    disposition_id: str = Field(description="The disposition withdrawn.")


class DispositionFollowedUp(LetterEvent):
    """The official reported what they did."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_followed_up.v1"

    disposition_id: str = Field(description="The disposition followed up.")
    note: str = Field(description="What was done; may name people.", json_schema_extra=PERSONAL)
    on_time: bool = Field(description="Whether it was followed up by its deadline.")


class DispositionClosed(LetterEvent):
    """The official closed the disposition: nothing (more) to do."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_closed.v1"

    disposition_id: str = Field(description="The disposition closed.")


class LetterAnswered(LetterEvent):
    """An outgoing reply was registered; the letter is closed."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.answered.v1"

    reply_number: str = Field(description="The outgoing letter's own number.")
    reply_date: date = Field(description="The date of the outgoing letter.")
    on_time: bool = Field(description="Whether the reply was registered by the letter's deadline.")


class LetterClosed(LetterEvent):
    """The head of office closed the letter without a reply."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.closed.v1"

    reason: str = Field(description="Why no reply is needed.", json_schema_extra=PERSONAL)


class LetterViewed(LetterEvent):
    """Someone allowed to read a confidential letter read it."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.viewed.v1"

    confidentiality: str = Field(description="biasa, terbatas or rahasia.")


class LetterAccessRefused(LetterEvent):
    """Someone neither its clerk, the head of its office nor on its chain tried to take a step on
    a letter, or to read a confidential one."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.access_refused.v1"

    confidentiality: str = Field(description="biasa, terbatas or rahasia.")


class DispositionReminded(LetterEvent):
    """The holder of a disposition was reminded: its deadline nears, or it lies unread."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_reminded.v1"

    disposition_id: str = Field(description="The disposition.")
    holder: str = Field(description="Who holds it (token subject).")
    reason: str = Field(description="`due_soon` or `unread` (one working day).")
    due_at: datetime = Field(description="Its deadline (UTC).")


class DispositionEscalated(LetterEvent):
    """A disposition's deadline passed unfollowed: the one who disposed it is told, and auditors
    see the breach."""

    event_type: ClassVar[str] = "id.go.adminduk.letter.disposition_escalated.v1"

    disposition_id: str = Field(description="The disposition.")
    holder: str = Field(description="Who held it.")
    holder_unit: str = Field(description="The holder's unit.")
    escalated_to: str = Field(description="Who disposed it, told now.")
    due_at: datetime = Field(description="The deadline that passed (UTC).")
