"""Official letters: an incoming letter, the chain of dispositions that puts it to work, and the
reply that answers it.

A letter clerk registers the letter; the head of office disposes it to officials, each with an
instruction and a deadline no later than the letter's; each official may dispose it further down
(no later than their own deadline), follow it up or close their disposition. A disposition can
be withdrawn by the one who gave it while it is unread. A registered reply closes the letter.
Every step is a method that checks it is allowed and records its event naming who acted.

Only the letter's own clerk, the head of its office and those on its chain act on it, whatever
its confidentiality, and a confidential letter (`terbatas`, `rahasia`) is read only by them; a
read by them is recorded, and so is a refused read or step by anyone else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from enum import StrEnum

from services.processing.domain.case import PROCESSING, Calendar
from services.processing.domain.deadlines import Mark, Timer
from shared.calendar import JAKARTA
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.letters import (
    DispositionClosed,
    DispositionEscalated,
    DispositionFollowedUp,
    DispositionRead,
    DispositionReminded,
    DispositionWithdrawn,
    LetterAccessRefused,
    LetterAnswered,
    LetterClosed,
    LetterDisposed,
    LetterEvent,
    LetterRegistered,
    LetterScanAttached,
    LetterViewed,
)


class Urgency(StrEnum):
    BIASA = "biasa"
    SEGERA = "segera"
    SANGAT_SEGERA = "sangat_segera"


class Confidentiality(StrEnum):
    BIASA = "biasa"
    TERBATAS = "terbatas"
    RAHASIA = "rahasia"


class LetterState(StrEnum):
    REGISTERED = "REGISTERED"
    IN_PROGRESS = "IN_PROGRESS"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"


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


@dataclass(frozen=True)
class LetterPolicy:
    """What the office configures: reply deadlines by urgency, in working days, and the
    instructions a disposition may carry."""

    reply_days: Mapping[Urgency, int]
    instructions: Mapping[str, str]
    """Instruction code → its wording, e.g. `TINDAK_LANJUTI` → "Tindak lanjuti"."""
    reminder_fraction: float = 0.8
    """Share of a disposition's working time after which its holder is reminded."""


OF_WHAT_WAS_SENT = frozenset(
    {
        "unknown_instruction",
        "no_recipient",
        "self_disposition",
        "deadline_too_late",
        "deadline_passed",
        "note_required",
        "reason_required",
        "reply_number_required",
    }
)
"""Refusals of what was sent (invalid), rather than of the letter's state (conflict)."""


class LetterRefused(Refusal):
    """A step the letter's state or chain does not allow, or what was sent for it; the message
    says why, in Indonesian."""

    def __init__(self, code: str, message: str, kind: Kind | None = None) -> None:
        if kind is None:
            kind = Kind.INVALID if code in OF_WHAT_WAS_SENT else Kind.CONFLICT
        super().__init__(code, message, kind)


class NoScan(Refusal):
    """The letter was registered, but no scan of it was attached yet."""

    def __init__(self) -> None:
        super().__init__("no_scan", "Surat ini belum memiliki pindaian.", Kind.NOT_FOUND)


class LetterForbidden(LetterRefused):
    """The caller may not take this step or read this letter."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.FORBIDDEN)


@dataclass(frozen=True)
class Official:
    """Someone on a disposition chain: their token subject and unit (service point)."""

    id: str
    unit: str


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


@dataclass(frozen=True)
class Reply:
    number: str
    reply_date: date
    registered_at: datetime
    by: str


@dataclass(frozen=True)
class IncomingLetter:
    """A letter's details as the clerk enters them."""

    sender: str
    reference_number: str
    letter_date: date
    regarding: str
    classification: str
    urgency: Urgency
    confidentiality: Confidentiality
    reply_due: date | None = None
    """The reply deadline the letter itself sets, if any."""


@dataclass
class Letter:
    letter_id: str
    year: int
    agenda_number: int
    details: IncomingLetter
    service_point: str
    registered_by: str
    received_at: datetime
    due_at: datetime
    state: LetterState = LetterState.REGISTERED
    dispositions: dict[str, Disposition] = field(default_factory=dict)
    reply: Reply | None = None
    scan_id: str | None = None
    closed_at: datetime | None = None
    """When it was answered or closed."""
    deadline_marks: set[str] = field(default_factory=set)
    events: list[Event] = field(default_factory=list)

    @property
    def confidential(self) -> bool:
        return self.details.confidentiality is not Confidentiality.BIASA

    @property
    def is_open(self) -> bool:
        return self.state in (LetterState.REGISTERED, LetterState.IN_PROGRESS)

    def on_chain(self, official_id: str) -> bool:
        """Whether the official gave or holds a disposition of the letter (not a withdrawn one)."""
        return any(
            official_id in (d.by.id, d.to.id)
            for d in self.dispositions.values()
            if d.state is not DispositionState.WITHDRAWN
        )

    def headed_by(self, unit: str, *, signer: bool) -> bool:
        """Whether a signer of `unit` is the head of this letter's office, the one that registered
        it; to a letter of another office, a signer is one more official."""
        return signer and unit == self.service_point

    def may_act(self, official_id: str, *, head_of_office: bool) -> bool:
        """Whether they may take a step on the letter, of any confidentiality: its clerk, the head
        of its office or someone on its chain. Whoever may act on it may also read it."""
        return head_of_office or official_id == self.registered_by or self.on_chain(official_id)

    def may_read(self, official_id: str, *, head_of_office: bool) -> bool:
        return not self.confidential or self.may_act(official_id, head_of_office=head_of_office)

    def admit(self, actor: Actor, *, head_of_office: bool, now: datetime) -> None:
        """Refuses a step to anyone who may not act on the letter and records the attempt, as a
        refused read is: the caller stores the event before answering 403."""
        if not self.may_act(actor.id, head_of_office=head_of_office):
            self._record(
                LetterAccessRefused,
                actor,
                now,
                confidentiality=self.details.confidentiality.value,
            )
            raise LetterForbidden(
                "not_on_letter",
                "Hanya pencatat surat ini, kepala dinasnya dan penerima disposisinya yang dapat "
                "mengambil langkah pada surat ini.",
            )

    def admit_scan(self, actor: Actor, *, head_of_office: bool, now: datetime) -> None:
        """Refuses a scan from anyone but the letter's clerk before the scan is taken in."""
        self.admit(actor, head_of_office=head_of_office, now=now)
        self._require_registrar(actor)

    def view(self, actor: Actor, *, head_of_office: bool, now: datetime) -> None:
        """Records a read of a confidential letter, or refuses it and records the attempt.

        The refusal's event stays on the letter: the caller stores it before answering 403."""
        confidentiality = self.details.confidentiality.value
        if not self.may_read(actor.id, head_of_office=head_of_office):
            self._record(LetterAccessRefused, actor, now, confidentiality=confidentiality)
            raise LetterForbidden(
                "confidential",
                "Surat ini bersifat rahasia/terbatas; hanya pencatat, kepala dinas dan penerima "
                "disposisinya yang dapat membacanya.",
            )
        if self.confidential:
            self._record(LetterViewed, actor, now, confidentiality=confidentiality)

    def attach_scan(
        self, actor: Actor, scan_id: str, media_type: str, size: int, now: datetime
    ) -> None:
        """Keeps the scanned letter; a new scan replaces the old one."""
        self._require_registrar(actor)
        self.scan_id = scan_id
        self._record(LetterScanAttached, actor, now, media_type=media_type, size_bytes=size)

    def dispose(
        self,
        actor: Actor,
        *,
        by: Official,
        to: Sequence[Official],
        instruction: str,
        note: str | None,
        due_at: datetime | None,
        parent_id: str | None,
        policy: LetterPolicy,
        head_of_office: bool,
        now: datetime,
    ) -> list[Disposition]:
        """Disposes the letter to each official in `to`: from the top by the head of office, or
        further down by the holder of the read disposition `parent_id`."""
        self._require_open()
        if parent_id is None:
            if not head_of_office:
                raise LetterForbidden(
                    "not_head_of_office", "Hanya kepala dinas yang mendisposisikan surat masuk."
                )
            limit = self.due_at
        else:
            parent = self._held_by(actor, parent_id)
            if parent.state is DispositionState.SENT:
                raise LetterRefused("not_read", "Baca disposisi ini dulu sebelum meneruskannya.")
            if parent.state not in (DispositionState.READ, DispositionState.DISPOSED):
                raise LetterRefused(
                    "not_passable", f"Disposisi berstatus {parent.state} tidak dapat diteruskan."
                )
            limit = parent.due_at
        if instruction not in policy.instructions:
            raise LetterRefused(
                "unknown_instruction",
                f"Instruksi {instruction} tidak ada dalam daftar; pilih salah satu dari: "
                f"{', '.join(sorted(policy.instructions))}.",
            )
        recipients = list(dict.fromkeys(to))
        if not recipients:
            raise LetterRefused("no_recipient", "Sebutkan paling sedikit satu penerima disposisi.")
        if any(official.id == by.id for official in recipients):
            raise LetterRefused(
                "self_disposition", "Disposisi tidak dapat ditujukan ke diri sendiri."
            )
        deadline = limit if due_at is None else due_at.replace(microsecond=0)
        if deadline > limit:
            raise LetterRefused(
                "deadline_too_late",
                "Batas waktu disposisi tidak boleh melewati batas waktu surat atau disposisi "
                "di atasnya.",
            )
        if deadline <= now:
            raise LetterRefused("deadline_passed", "Batas waktu disposisi sudah lewat.")
        text = note.strip() if note and note.strip() else None
        made: list[Disposition] = []
        for official in recipients:
            disposition = Disposition(
                id=f"D{len(self.dispositions) + 1}",
                parent_id=parent_id,
                by=by,
                to=official,
                instruction=instruction,
                note=text,
                due_at=deadline,
                sent_at=now,
            )
            self.dispositions[disposition.id] = disposition
            made.append(disposition)
        if parent_id is not None:
            self.dispositions[parent_id].state = DispositionState.DISPOSED
        self.state = LetterState.IN_PROGRESS
        for disposition in made:
            self._record(
                LetterDisposed,
                actor,
                now,
                disposition_id=disposition.id,
                parent_id=parent_id,
                to_official=disposition.to.id,
                to_unit=disposition.to.unit,
                instruction=instruction,
                note=text,
                due_at=deadline,
            )
        return made

    def read(self, actor: Actor, disposition_id: str, *, now: datetime) -> bool:
        """The holder opens their disposition; False when they had read it already."""
        disposition = self._held_by(actor, disposition_id)
        if disposition.state is not DispositionState.SENT:
            return False
        disposition.state = DispositionState.READ
        disposition.read_at = now
        self._record(DispositionRead, actor, now, disposition_id=disposition_id)
        return True

    def withdraw(self, actor: Actor, disposition_id: str, *, now: datetime) -> None:
        """The one who disposed takes the disposition back, only while it is unread."""
        self._require_open()
        disposition = self._disposition(disposition_id)
        if disposition.by.id != actor.id:
            raise LetterForbidden(
                "not_disposer", "Hanya pemberi disposisi yang dapat menariknya kembali."
            )
        if disposition.state is not DispositionState.SENT:
            raise LetterRefused(
                "already_read", "Disposisi yang sudah dibaca tidak dapat ditarik kembali."
            )
        disposition.state = DispositionState.WITHDRAWN
        parent_id = disposition.parent_id
        if parent_id is not None and not self._passed_on(parent_id):
            self.dispositions[parent_id].state = DispositionState.READ
        if not any(d.state is not DispositionState.WITHDRAWN for d in self.dispositions.values()):
            self.state = LetterState.REGISTERED
        self._record(DispositionWithdrawn, actor, now, disposition_id=disposition_id)

    def follow_up(self, actor: Actor, disposition_id: str, note: str, *, now: datetime) -> None:
        """The holder reports what they did about the disposition."""
        self._require_open()
        disposition = self._held_by(actor, disposition_id)
        if disposition.state not in (DispositionState.READ, DispositionState.DISPOSED):
            raise LetterRefused(
                "not_followable",
                f"Disposisi berstatus {disposition.state} tidak dapat ditindaklanjuti.",
            )
        if not note.strip():
            raise LetterRefused("note_required", "Tuliskan catatan tindak lanjutnya.")
        disposition.state = DispositionState.FOLLOWED_UP
        disposition.followed_up_at = now
        disposition.follow_up_note = note.strip()
        self._record(
            DispositionFollowedUp,
            actor,
            now,
            disposition_id=disposition_id,
            note=note.strip(),
            on_time=now <= disposition.due_at,
        )

    def close_disposition(self, actor: Actor, disposition_id: str, *, now: datetime) -> None:
        """The holder closes a read disposition: nothing (more) to do about it."""
        self._require_open()
        disposition = self._held_by(actor, disposition_id)
        if disposition.state not in (
            DispositionState.READ,
            DispositionState.DISPOSED,
            DispositionState.FOLLOWED_UP,
        ):
            raise LetterRefused(
                "not_closable", f"Disposisi berstatus {disposition.state} tidak dapat ditutup."
            )
        disposition.state = DispositionState.CLOSED
        disposition.closed_at = now
        self._record(DispositionClosed, actor, now, disposition_id=disposition_id)

    def answer(
        self,
        actor: Actor,
        *,
        reply_number: str,
        reply_date: date,
        head_of_office: bool,
        now: datetime,
    ) -> None:
        """Registers the outgoing reply, which closes the letter and so ends its escalations: only
        for those who may act on it, not any letter clerk."""
        self.admit(actor, head_of_office=head_of_office, now=now)
        self._require_open()
        number = reply_number.strip()
        if not number:
            raise LetterRefused("reply_number_required", "Nomor surat balasan wajib diisi.")
        self.reply = Reply(number=number, reply_date=reply_date, registered_at=now, by=actor.id)
        self.state = LetterState.ANSWERED
        self.closed_at = now
        self._record(
            LetterAnswered,
            actor,
            now,
            reply_number=number,
            reply_date=reply_date,
            on_time=now <= self.due_at,
        )

    def close(self, actor: Actor, reason: str, *, head_of_office: bool, now: datetime) -> None:
        """The head of office closes a letter that needs no reply."""
        self._require_open()
        if not head_of_office:
            raise LetterForbidden(
                "not_head_of_office", "Hanya kepala dinas yang dapat menutup surat."
            )
        if not reason.strip():
            raise LetterRefused("reason_required", "Alasan penutupan surat wajib diisi.")
        self.state = LetterState.CLOSED
        self.closed_at = now
        self._record(LetterClosed, actor, now, reason=reason.strip())

    def mark_deadline(self, timer: Timer, *, now: datetime) -> bool:
        """Records a reminder or an escalation once, if the timer's disposition still waits for
        its holder at that deadline; False when it fires nothing."""
        disposition = self.dispositions.get(timer.disposition_id or "")
        key = timer.key
        if (
            disposition is None
            or not self.is_open
            or disposition.due_at != timer.due_at
            or key in self.deadline_marks
            or not disposition.is_open
            or (timer.mark is Mark.UNREAD and disposition.state is not DispositionState.SENT)
            or timer.mark not in (Mark.DUE_SOON, Mark.UNREAD, Mark.ESCALATION)
        ):
            return False
        self.deadline_marks.add(key)
        due_at, disposition_id = timer.due_at, disposition.id
        if timer.mark is Mark.ESCALATION:
            self._record(
                DispositionEscalated,
                PROCESSING,
                now,
                disposition_id=disposition_id,
                holder=disposition.to.id,
                holder_unit=disposition.to.unit,
                escalated_to=disposition.by.id,
                due_at=due_at,
            )
        else:
            self._record(
                DispositionReminded,
                PROCESSING,
                now,
                disposition_id=disposition_id,
                holder=disposition.to.id,
                reason="unread" if timer.mark is Mark.UNREAD else "due_soon",
                due_at=due_at,
            )
        return True

    def _passed_on(self, disposition_id: str) -> bool:
        return any(
            d.parent_id == disposition_id and d.state is not DispositionState.WITHDRAWN
            for d in self.dispositions.values()
        )

    def _disposition(self, disposition_id: str) -> Disposition:
        disposition = self.dispositions.get(disposition_id)
        if disposition is None:
            raise LetterRefused(
                "no_disposition",
                f"Disposisi {disposition_id} tidak ada pada surat ini.",
                Kind.NOT_FOUND,
            )
        return disposition

    def _held_by(self, actor: Actor, disposition_id: str) -> Disposition:
        disposition = self._disposition(disposition_id)
        if disposition.to.id != actor.id:
            raise LetterForbidden("not_holder", "Disposisi ini tidak ditujukan kepada Anda.")
        if disposition.state is DispositionState.WITHDRAWN:
            raise LetterRefused("withdrawn", "Disposisi ini sudah ditarik kembali.")
        return disposition

    def _require_registrar(self, actor: Actor) -> None:
        if actor.id != self.registered_by:
            raise LetterForbidden(
                "not_registrar", "Hanya pencatat surat yang dapat mengunggah pindaiannya."
            )

    def _require_open(self) -> None:
        if not self.is_open:
            raise LetterRefused("letter_closed", f"Surat berstatus {self.state} sudah selesai.")

    def _record(
        self, event: type[LetterEvent], actor: Actor, now: datetime, **data: object
    ) -> None:
        common = {"actor": actor, "letter_id": self.letter_id, "state": self.state, "at": now}
        self.events.append(event.model_validate(common | data))


def letter_id(year: int, agenda_number: int) -> str:
    """The letter's id, which is its place in the year's agenda: `2026-00042`."""
    return f"{year}-{agenda_number:05d}"


def register(
    details: IncomingLetter,
    *,
    actor: Actor,
    year: int,
    agenda_number: int,
    service_point: str,
    policy: LetterPolicy,
    calendar: Calendar,
    now: datetime,
) -> Letter:
    """The registered letter, due by the end of its own reply date in the office's time, or by
    its urgency's default in working days."""
    if details.reply_due is not None:
        due_at = datetime.combine(details.reply_due, time(23, 59, 59), tzinfo=JAKARTA)
        due_at = due_at.astimezone(UTC)
        if due_at <= now:
            raise LetterRefused("deadline_passed", "Batas balasan surat sudah lewat.")
    else:
        due_at = calendar.due_at(now, policy.reply_days[details.urgency])
    letter = Letter(
        letter_id=letter_id(year, agenda_number),
        year=year,
        agenda_number=agenda_number,
        details=details,
        service_point=service_point,
        registered_by=actor.id,
        received_at=now,
        due_at=due_at.replace(microsecond=0),
    )
    letter._record(
        LetterRegistered,
        actor,
        now,
        agenda_number=agenda_number,
        sender=details.sender,
        reference_number=details.reference_number,
        letter_date=details.letter_date,
        regarding=details.regarding,
        classification=details.classification,
        urgency=details.urgency.value,
        confidentiality=details.confidentiality.value,
        due_at=letter.due_at,
        service_point=service_point,
    )
    return letter


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
