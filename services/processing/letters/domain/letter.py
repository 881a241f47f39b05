"""The letter, the aggregate every step on it goes through: who may read it and act on it, its
disposition chain, its reply or closing, and the reminders and escalations its timers record."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from services.processing.domain.case import PROCESSING
from services.processing.domain.deadlines import Timer
from services.processing.letters.domain.details import Confidentiality, IncomingLetter, Reply
from services.processing.letters.domain.dispositions import (
    Disposition,
    DispositionOrder,
    DispositionState,
)
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.domain.refusals import LetterForbidden, LetterRefused
from shared.errors import Kind
from shared.events.envelope import Actor, Event
from shared.events.models.letters import (
    DispositionClosed,
    DispositionFollowedUp,
    DispositionRead,
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


class LetterState(StrEnum):
    REGISTERED = "REGISTERED"
    IN_PROGRESS = "IN_PROGRESS"
    ANSWERED = "ANSWERED"
    CLOSED = "CLOSED"


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

    @classmethod
    def registered(
        cls,
        details: IncomingLetter,
        *,
        actor: Actor,
        year: int,
        agenda_number: int,
        service_point: str,
        due_at: datetime,
        now: datetime,
    ) -> Letter:
        """The letter as the clerk registers it, under its id in the year's agenda."""
        letter = cls(
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
        order: DispositionOrder,
        *,
        policy: LetterPolicy,
        head_of_office: bool,
        now: datetime,
    ) -> list[Disposition]:
        """Disposes the letter to each official of the order: from the top by the head of
        office, or further down by the holder of the read disposition the order passes on."""
        self._require_open()
        limit = self._disposal_limit(actor, order.parent_id, head_of_office=head_of_office)
        recipients = order.recipients(policy.instructions)
        deadline = order.deadline(limit, now)
        made: list[Disposition] = []
        for official in recipients:
            next_id = f"D{len(self.dispositions) + 1}"
            disposition = order.disposition(next_id, official, deadline, now)
            self.dispositions[disposition.id] = disposition
            made.append(disposition)
        if order.parent_id is not None:
            self.dispositions[order.parent_id].state = DispositionState.DISPOSED
        self.state = LetterState.IN_PROGRESS
        for disposition in made:
            self._record(
                LetterDisposed,
                actor,
                now,
                disposition_id=disposition.id,
                parent_id=order.parent_id,
                to_official=disposition.to.id,
                to_unit=disposition.to.unit,
                instruction=order.instruction,
                note=disposition.note,
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
        disposition.require_withdrawable_by(actor.id)
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
        disposition.require_followable()
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
        disposition.require_closable()
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
            or key in self.deadline_marks
            or not disposition.waits_at(timer)
        ):
            return False
        self.deadline_marks.add(key)
        event, data = disposition.notice(timer)
        self._record(event, PROCESSING, now, **data)
        return True

    def _disposal_limit(
        self, actor: Actor, parent_id: str | None, *, head_of_office: bool
    ) -> datetime:
        """The latest deadline a new disposition may have: the letter's for the head of office's
        own, its parent's for one passed further down by that parent's holder."""
        if parent_id is None:
            if not head_of_office:
                raise LetterForbidden(
                    "not_head_of_office", "Hanya kepala dinas yang mendisposisikan surat masuk."
                )
            return self.due_at
        parent = self._held_by(actor, parent_id)
        parent.require_passable()
        return parent.due_at

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
