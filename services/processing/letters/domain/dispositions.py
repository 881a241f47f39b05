"""A disposition: who put a letter to whose work, what to do and by when; the rules of each one,
and the reminders and escalation its deadline sets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.processing.domain.case import Calendar
from services.processing.domain.deadlines import Mark, Timer
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.domain.refusals import LetterForbidden, LetterRefused
from shared.events.models.letters import DispositionEscalated, DispositionReminded, LetterEvent


class DispositionState(StrEnum):
    SENT = "sent"
    READ = "read"
    FOLLOWED_UP = "followed_up"
    DISPOSED = "disposed"
    """Passed further down; the official still answers for it until followed up or closed."""
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


OPEN_DISPOSITIONS = frozenset(
    {DispositionState.SENT, DispositionState.READ, DispositionState.DISPOSED}
)
"""Dispositions someone must still act on."""

DISPOSITION_MARKS = (Mark.DUE_SOON, Mark.UNREAD, Mark.ESCALATION)


@dataclass(frozen=True)
class Official:
    """Someone on a disposition chain: their token subject and unit (service point)."""

    id: str
    unit: str


@dataclass(frozen=True)
class DispositionOrder:
    """What a disposition says: who gives it to whom, the instruction, an optional note and
    deadline, and the disposition it passes further down (None for the head of office's own)."""

    by: Official
    to: Sequence[Official]
    instruction: str
    note: str | None
    due_at: datetime | None
    parent_id: str | None = None

    @property
    def text(self) -> str | None:
        """The note as kept: trimmed, and None when blank."""
        return self.note.strip() if self.note and self.note.strip() else None

    def recipients(self, instructions: Mapping[str, str]) -> list[Official]:
        """Each official it goes to, once, if its instruction is one of the office's."""
        if self.instruction not in instructions:
            raise LetterRefused(
                "unknown_instruction",
                f"Instruksi {self.instruction} tidak ada dalam daftar; pilih salah satu dari: "
                f"{', '.join(sorted(instructions))}.",
            )
        recipients = list(dict.fromkeys(self.to))
        if not recipients:
            raise LetterRefused("no_recipient", "Sebutkan paling sedikit satu penerima disposisi.")
        if any(official.id == self.by.id for official in recipients):
            raise LetterRefused(
                "self_disposition", "Disposisi tidak dapat ditujukan ke diri sendiri."
            )
        return recipients

    def disposition(
        self, disposition_id: str, to: Official, deadline: datetime, now: datetime
    ) -> Disposition:
        """The disposition it makes for one of its officials."""
        return Disposition(
            id=disposition_id,
            parent_id=self.parent_id,
            by=self.by,
            to=to,
            instruction=self.instruction,
            note=self.text,
            due_at=deadline,
            sent_at=now,
        )

    def deadline(self, limit: datetime, now: datetime) -> datetime:
        """Its deadline, the one above (`limit`) unless it asks for an earlier one still ahead."""
        deadline = limit if self.due_at is None else self.due_at.replace(microsecond=0)
        if deadline > limit:
            raise LetterRefused(
                "deadline_too_late",
                "Batas waktu disposisi tidak boleh melewati batas waktu surat atau disposisi "
                "di atasnya.",
            )
        if deadline <= now:
            raise LetterRefused("deadline_passed", "Batas waktu disposisi sudah lewat.")
        return deadline


@dataclass
class Disposition:
    id: str
    parent_id: str | None
    by: Official
    to: Official
    instruction: str
    note: str | None
    due_at: datetime
    sent_at: datetime
    state: DispositionState = DispositionState.SENT
    read_at: datetime | None = None
    followed_up_at: datetime | None = None
    follow_up_note: str | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_DISPOSITIONS

    def waits_at(self, timer: Timer) -> bool:
        """Whether the timer still finds the disposition waiting for its holder: open, at the
        deadline the timer was set for, and (for the unread reminder) not yet read."""
        return (
            self.due_at == timer.due_at
            and self.is_open
            and not (timer.mark is Mark.UNREAD and self.state is not DispositionState.SENT)
            and timer.mark in DISPOSITION_MARKS
        )

    def notice(self, timer: Timer) -> tuple[type[LetterEvent], dict[str, object]]:
        """The escalation to the one who disposed it, or the reminder to its holder, that the
        timer sends, and what it says."""
        if timer.mark is Mark.ESCALATION:
            return DispositionEscalated, {
                "disposition_id": self.id,
                "holder": self.to.id,
                "holder_unit": self.to.unit,
                "escalated_to": self.by.id,
                "due_at": timer.due_at,
            }
        return DispositionReminded, {
            "disposition_id": self.id,
            "holder": self.to.id,
            "reason": "unread" if timer.mark is Mark.UNREAD else "due_soon",
            "due_at": timer.due_at,
        }

    def require_passable(self) -> None:
        """Only a read disposition is passed further down."""
        if self.state is DispositionState.SENT:
            raise LetterRefused("not_read", "Baca disposisi ini dulu sebelum meneruskannya.")
        if self.state not in (DispositionState.READ, DispositionState.DISPOSED):
            raise LetterRefused(
                "not_passable", f"Disposisi berstatus {self.state} tidak dapat diteruskan."
            )

    def require_withdrawable_by(self, official_id: str) -> None:
        """Only the one who gave it takes it back, and only while it is unread."""
        if self.by.id != official_id:
            raise LetterForbidden(
                "not_disposer", "Hanya pemberi disposisi yang dapat menariknya kembali."
            )
        if self.state is not DispositionState.SENT:
            raise LetterRefused(
                "already_read", "Disposisi yang sudah dibaca tidak dapat ditarik kembali."
            )

    def require_followable(self) -> None:
        if self.state not in (DispositionState.READ, DispositionState.DISPOSED):
            raise LetterRefused(
                "not_followable",
                f"Disposisi berstatus {self.state} tidak dapat ditindaklanjuti.",
            )

    def require_closable(self) -> None:
        if self.state not in (
            DispositionState.READ,
            DispositionState.DISPOSED,
            DispositionState.FOLLOWED_UP,
        ):
            raise LetterRefused(
                "not_closable", f"Disposisi berstatus {self.state} tidak dapat ditutup."
            )


def disposition_timers(
    letter_id: str, disposition: Disposition, calendar: Calendar, policy: LetterPolicy
) -> list[Timer]:
    """A disposition's timers: the reminder before the deadline (at the configured share of its
    working time), the reminder after one working day unread, the escalation at the deadline."""
    due = disposition.due_at
    fire_at = {
        Mark.DUE_SOON: calendar.at_fraction(disposition.sent_at, due, policy.reminder_fraction),
        Mark.UNREAD: min(calendar.due_at(disposition.sent_at, 1), due),
        Mark.ESCALATION: due,
    }
    return [
        Timer(
            request_id=letter_id,
            mark=mark,
            due_at=due,
            fire_at=moment,
            disposition_id=disposition.id,
        )
        for mark, moment in fire_at.items()
    ]
