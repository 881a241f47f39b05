"""What the letter routes take and answer: request bodies and views, apart from the routes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.dispositions import Disposition, DispositionOrder, Official
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import Urgency
from services.processing.letters.worklists import Held


class LetterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sender: str = Field(min_length=2, max_length=300, description="Who sent the letter.")
    reference_number: str = Field(
        min_length=1, max_length=120, description="The sender's number of the letter."
    )
    letter_date: date = Field(description="The date on the letter.")
    regarding: str = Field(min_length=2, max_length=1000, description="Perihal.")
    classification: str = Field(
        pattern=r"^[0-9]{3}(\.[0-9]{1,3}){0,3}$", description="Filing classification code."
    )
    urgency: Urgency
    confidentiality: Confidentiality
    reply_due: date | None = Field(
        default=None,
        description="The reply date the letter sets; without it, the urgency's default in "
        "working days applies.",
    )

    def details(self) -> IncomingLetter:
        return IncomingLetter(
            sender=self.sender.strip(),
            reference_number=self.reference_number.strip(),
            letter_date=self.letter_date,
            regarding=self.regarding.strip(),
            classification=self.classification,
            urgency=self.urgency,
            confidentiality=self.confidentiality,
            reply_due=self.reply_due,
        )


class RecipientBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    official: str = Field(min_length=1, max_length=200, description="The official's `sub`.")
    unit: str = Field(min_length=1, max_length=100, description="Their unit (service point).")


class DisposeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[RecipientBody] = Field(min_length=1, max_length=20)
    instruction: str = Field(
        pattern=r"^[A-Z][A-Z_]{2,39}$", description="An instruction code from the office's list."
    )
    note: str | None = Field(default=None, max_length=1000, description="Free text with it.")
    due_at: datetime | None = Field(
        default=None,
        description="The deadline, no later than the letter's (or the passed-on disposition's); "
        "that one when absent.",
    )
    parent_id: str | None = Field(
        default=None,
        pattern=r"^D\d{1,4}$",
        description="The caller's disposition this passes on; none for the head's first.",
    )

    def order(self, by: Official) -> DispositionOrder:
        """The disposition as `by` gives it."""
        return DispositionOrder(
            by=by,
            to=[Official(item.official.strip(), item.unit.strip()) for item in self.to],
            instruction=self.instruction,
            note=self.note,
            due_at=self.due_at,
            parent_id=self.parent_id,
        )


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="What was done.")


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply_number: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9./ -]+$")
    reply_date: date


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, description="Why no reply is needed.")


class DispositionView(BaseModel):
    disposition_id: str
    parent_id: str | None
    from_official: str
    to_official: str
    to_unit: str
    instruction: str
    note: str | None
    due_at: datetime
    sent_at: datetime
    state: str = Field(description="sent, read, followed_up, disposed, closed or withdrawn.")
    read_at: datetime | None
    followed_up_at: datetime | None
    follow_up_note: str | None

    @classmethod
    def of(cls, disposition: Disposition, *, notes: bool = True) -> DispositionView:
        return cls(
            disposition_id=disposition.id,
            parent_id=disposition.parent_id,
            from_official=disposition.by.id,
            to_official=disposition.to.id,
            to_unit=disposition.to.unit,
            instruction=disposition.instruction,
            note=disposition.note if notes else None,
            due_at=disposition.due_at,
            sent_at=disposition.sent_at,
            state=disposition.state.value,
            read_at=disposition.read_at,
            followed_up_at=disposition.followed_up_at,
            follow_up_note=disposition.follow_up_note if notes else None,
        )


class ReplyView(BaseModel):
    reply_number: str
    reply_date: date
    registered_at: datetime


class LetterView(BaseModel):
    """A letter as the clerk, the head of office and its chain see it."""

    letter_id: str
    agenda_number: int
    sender: str
    reference_number: str
    letter_date: date
    regarding: str
    classification: str
    urgency: Urgency
    confidentiality: Confidentiality
    state: str = Field(description="REGISTERED, IN_PROGRESS, ANSWERED or CLOSED.")
    service_point: str
    registered_by: str
    received_at: datetime
    due_at: datetime = Field(description="When the reply is due.")
    has_scan: bool
    dispositions: list[DispositionView]
    reply: ReplyView | None

    @classmethod
    def of(cls, letter: Letter) -> LetterView:
        details, reply = letter.details, letter.reply
        return cls(
            letter_id=letter.letter_id,
            agenda_number=letter.agenda_number,
            sender=details.sender,
            reference_number=details.reference_number,
            letter_date=details.letter_date,
            regarding=details.regarding,
            classification=details.classification,
            urgency=details.urgency,
            confidentiality=details.confidentiality,
            state=letter.state.value,
            service_point=letter.service_point,
            registered_by=letter.registered_by,
            received_at=letter.received_at,
            due_at=letter.due_at,
            has_scan=letter.scan_id is not None,
            dispositions=[DispositionView.of(d) for d in letter.dispositions.values()],
            reply=None
            if reply is None
            else ReplyView(
                reply_number=reply.number,
                reply_date=reply.reply_date,
                registered_at=reply.registered_at,
            ),
        )


class HeldView(BaseModel):
    """A disposition in an inbox, with what identifies its letter (not its contents: a
    confidential letter's subject is read by opening it)."""

    letter_id: str
    agenda_number: int
    confidentiality: Confidentiality
    urgency: Urgency
    disposition: DispositionView
    notes_withheld: bool = Field(
        description="The disposition's `note` and `follow_up_note` are left out: a confidential "
        "letter's notes are read by opening it."
    )

    @classmethod
    def of(cls, held: Held) -> HeldView:
        return cls(
            letter_id=held.letter.letter_id,
            agenda_number=held.letter.agenda_number,
            confidentiality=held.letter.details.confidentiality,
            urgency=held.letter.details.urgency,
            disposition=DispositionView.of(held.disposition, notes=not held.notes_withheld),
            notes_withheld=held.notes_withheld,
        )


class InboxView(BaseModel):
    unread: list[HeldView]
    to_follow_up: list[HeldView] = Field(description="Read and not yet followed up or closed.")
    due_soon: list[HeldView]
    overdue: list[HeldView]


class OverdueGroup(BaseModel):
    key: str = Field(description="The unit, or the official's `sub`.")
    count: int
    dispositions: list[HeldView]


class OverdueView(BaseModel):
    by_unit: list[OverdueGroup]
    by_official: list[OverdueGroup]
