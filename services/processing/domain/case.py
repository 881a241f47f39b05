"""A case: processing's record of the work on one request, its state machine and its events.

`SUBMITTED → IN_VERIFICATION → (NEEDS_REVISION ↔ resubmitted) → APPROVED → ISSUED → COMPLETED`,
or `REJECTED` (with a reason) or `CANCELLED` (by the citizen, before verification).

Work is done in stages, each by its role: a verifier checks the request (claiming a submitted
case starts its verification) and verifies it, sends it back or rejects it; the head of office
(signer) approves or rejects; an operator issues the document; a counter officer or operator
completes the case when the citizen has it. An officer claims a case from the stage's queue, acts
on it, and the case moves to the next stage's queue unclaimed. Only the claimant acts on a
claimed case. Every step is a method that checks it is allowed and records its event. Who
works each stage, and whose queue a case waits in after a step, is in `case_stages`; how a
request becomes a case, in `case_opening`.

A case knows which of its request's mandatory documents intake has not received yet, and which
documents it holds; it is not verified while one is missing (the verifier can still send it back
to the citizen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from services.processing.domain.case_stages import STAGE_ROLES
from services.processing.domain.deadlines import Mark, Timer
from services.processing.domain.priority import Lane, lane_for
from shared.errors import Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.cases import (
    CaseApproved,
    CaseCancelled,
    CaseClaimed,
    CaseCompleted,
    CaseEvent,
    CaseReassigned,
    CaseRejected,
    CaseReleased,
    CaseResubmitted,
    CaseStage,
    CaseVerified,
    CaseViewed,
    CollectionMethod,
    DeadlineBreached,
    DeadlineWarning,
    DocumentIssued,
    RevisionRequested,
)
from shared.events.models.requests import Applicant
from shared.identity import Role

PROCESSING = Actor.system("processing")


class CaseState(StrEnum):
    SUBMITTED = "SUBMITTED"
    IN_VERIFICATION = "IN_VERIFICATION"
    NEEDS_REVISION = "NEEDS_REVISION"
    APPROVED = "APPROVED"
    ISSUED = "ISSUED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Calendar(Protocol):
    """The office's working time (`calendar.WorkingCalendar`): a pure collaborator, not a port."""

    def due_at(self, start: datetime, working_days: int) -> datetime: ...

    def working_time_between(self, start: datetime, end: datetime) -> timedelta: ...

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime: ...

    def at_fraction(self, start: datetime, due: datetime, fraction: float) -> datetime: ...


class CaseRefused(Refusal):
    """A step the case's state or claim does not allow; the message says why, in Indonesian."""

    def __init__(self, code: str, message: str, kind: Kind = Kind.CONFLICT) -> None:
        super().__init__(code, message, kind)


class NotAllowed(CaseRefused):
    """The step is not open to this officer: the case is claimed by another, or not by them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.FORBIDDEN)


@dataclass
class Claim:
    officer: str
    role: Role
    since: datetime


@dataclass(frozen=True)
class Step:
    """One event a case recorded: its kind (the event's class name), the state it left the case
    in, and when. Reads of the case are not steps: they change nothing and come without bound."""

    kind: str
    state: str
    at: datetime


@dataclass
class Case:
    request_id: str
    service_code: str
    applicant: Applicant
    service_point: str
    state: CaseState
    opened_at: datetime
    due_at: datetime
    verified: bool = False
    claim: Claim | None = None
    paused_remaining: timedelta | None = None
    """Office time left until the deadline, kept while the citizen must act."""
    completed_on_time: bool | None = None
    deadline_marks: set[str] = field(default_factory=set)
    """The deadline timers that fired (`Timer.key`)."""
    missing_documents: set[str] = field(default_factory=set)
    """Catalogue codes of the mandatory documents intake has not received yet."""
    documents: dict[str, str] = field(default_factory=dict)
    """Intake's id of each document received, by catalogue code."""
    submitted_at: datetime | None = None
    """When the citizen submitted the request; None for cases opened before it was kept."""
    channel: str | None = None
    """Where the request came in (`channel_of`); None for cases opened before it was kept."""
    steps: list[Step] = field(default_factory=list)
    """Every step since the case was opened, oldest first."""
    events: list[Event] = field(default_factory=list)

    @property
    def documents_complete(self) -> bool:
        return not self.missing_documents

    @property
    def lane(self) -> Lane:
        """Its lane in the queue of a stage it is entering for the first time."""
        return lane_for(self.service_code, self.applicant.nik, self.opened_at.date())

    @property
    def stage(self) -> CaseStage | None:
        """The stage whose queue the case is in, or is claimed from; None when no one can act."""
        if self.state in (CaseState.SUBMITTED, CaseState.IN_VERIFICATION):
            return CaseStage.APPROVAL if self.verified else CaseStage.VERIFICATION
        return {
            CaseState.APPROVED: CaseStage.ISSUANCE,
            CaseState.ISSUED: CaseStage.COMPLETION,
        }.get(self.state)

    def claim_for(
        self, actor: Actor, role: Role, *, now: datetime, out_of_order_reason: str | None = None
    ) -> None:
        """Takes the case for its current stage; claiming a submitted case starts verification."""
        stage = self.stage
        if stage is None:
            raise CaseRefused("not_claimable", f"Kasus berstatus {self.state} tidak dapat diambil.")
        if role not in STAGE_ROLES[stage]:
            raise NotAllowed("wrong_role", f"Tahap {stage} tidak dikerjakan oleh peran {role}.")
        if self.claim is not None:
            raise CaseRefused("already_claimed", "Kasus ini sudah diambil petugas lain.")
        self.claim = Claim(officer=actor.id, role=role, since=now)
        if self.state is CaseState.SUBMITTED:
            self.state = CaseState.IN_VERIFICATION
        self._record(
            CaseClaimed,
            actor,
            now,
            stage=stage,
            out_of_order=out_of_order_reason is not None,
            reason_code=out_of_order_reason,
        )

    def release(self, actor: Actor, *, now: datetime) -> None:
        """Puts the case back in its stage's queue, as it was."""
        stage = self._claimed_by(actor)
        self.claim = None
        self._record(CaseReleased, actor, now, stage=stage)

    def view(self, actor: Actor, *, now: datetime) -> None:
        """Records that `actor` read the case's personal data."""
        self._record(CaseViewed, actor, now)

    def request_revision(
        self,
        actor: Actor,
        items: list[str],
        *,
        now: datetime,
        calendar: Calendar,
        documents: Sequence[str] = (),
    ) -> None:
        """Sends the case back to the citizen; the deadline clock stops until they resubmit.

        `documents` are the catalogue codes of the documents to send again (or send at all):
        only those may the citizen replace."""
        self._claimed_by(actor, CaseStage.VERIFICATION)
        wanted = [item.strip() for item in items if item.strip()]
        if not wanted:
            raise CaseRefused("items_required", "Sebutkan apa yang harus diperbaiki.")
        known = set(self.documents) | self.missing_documents
        unknown = sorted(set(documents) - known)
        if unknown:
            raise CaseRefused(
                "unknown_documents",
                f"Permohonan ini tidak memuat dokumen {', '.join(unknown)}; yang ada: "
                f"{', '.join(sorted(known)) or '-'}.",
            )
        self.paused_remaining = calendar.working_time_between(now, self.due_at)
        self.state = CaseState.NEEDS_REVISION
        self.claim = None
        self._record(RevisionRequested, actor, now, items=wanted, documents=sorted(set(documents)))

    def resubmit(self, actor: Actor, *, now: datetime, calendar: Calendar) -> None:
        """The citizen fixed what was asked: back to verification, with the time they took
        added to the deadline."""
        if self.state is not CaseState.NEEDS_REVISION or self.paused_remaining is None:
            raise CaseRefused("not_waiting", "Kasus ini tidak sedang menunggu perbaikan.")
        self.due_at = to_the_second(calendar.add_working_time(now, self.paused_remaining))
        self.paused_remaining = None
        self.state = CaseState.IN_VERIFICATION
        self._record(CaseResubmitted, actor, now, due_at=self.due_at)

    def verify(self, actor: Actor, *, now: datetime) -> None:
        """The request and all its mandatory documents are in order."""
        self._claimed_by(actor, CaseStage.VERIFICATION)
        if self.missing_documents:
            raise CaseRefused(
                "documents_missing",
                "Dokumen wajib belum lengkap: "
                f"{', '.join(sorted(self.missing_documents))}. Tunggu dokumennya, atau kirim "
                "balik permohonan agar pemohon melengkapinya.",
            )
        self.verified = True
        self.claim = None
        self._record(CaseVerified, actor, now)

    def approve(self, actor: Actor, *, now: datetime) -> None:
        self._claimed_by(actor, CaseStage.APPROVAL)
        self.state = CaseState.APPROVED
        self.claim = None
        self._record(CaseApproved, actor, now)

    def issue(
        self,
        actor: Actor,
        *,
        document_number: str,
        collection: CollectionMethod,
        now: datetime,
    ) -> None:
        self._claimed_by(actor, CaseStage.ISSUANCE)
        if not document_number.strip():
            raise CaseRefused("document_number_required", "Nomor dokumen wajib diisi.")
        self.state = CaseState.ISSUED
        self.claim = None
        self._record(
            DocumentIssued,
            actor,
            now,
            document_number=document_number.strip(),
            collection=collection,
        )

    def complete(self, actor: Actor, *, now: datetime) -> None:
        self._claimed_by(actor, CaseStage.COMPLETION)
        self.state = CaseState.COMPLETED
        self.claim = None
        self.completed_on_time = now <= self.due_at
        self._record(CaseCompleted, actor, now, on_time=self.completed_on_time)

    def reject(self, actor: Actor, reason: str, *, now: datetime) -> None:
        """Refuses the request, by the verifier or the head of office, for a stated reason."""
        self._claimed_by(actor, CaseStage.VERIFICATION, CaseStage.APPROVAL)
        if not reason.strip():
            raise CaseRefused("reason_required", "Alasan penolakan wajib diisi.")
        self.state = CaseState.REJECTED
        self.claim = None
        self._record(CaseRejected, actor, now, reason=reason.strip())

    def cancel(self, actor: Actor, *, now: datetime) -> None:
        """The citizen withdraws the request; only before anyone started verifying it."""
        if self.state is not CaseState.SUBMITTED or self.claim is not None:
            raise CaseRefused(
                "verification_started", "Permohonan yang sudah diverifikasi tidak dapat dibatalkan."
            )
        self.state = CaseState.CANCELLED
        self._record(CaseCancelled, actor, now)

    def reassign(self, actor: Actor, to_officer: str, *, now: datetime) -> None:
        """A supervisor moves a claimed case to another officer of the same role."""
        if self.claim is None:
            raise CaseRefused("not_claimed", "Kasus ini belum diambil siapa pun.")
        if not to_officer.strip() or to_officer == self.claim.officer:
            raise CaseRefused("same_officer", "Pilih petugas lain untuk kasus ini.")
        previous = self.claim.officer
        self.claim = Claim(officer=to_officer, role=self.claim.role, since=now)
        self._record(CaseReassigned, actor, now, from_officer=previous, to_officer=to_officer)

    def note_document(self, requirement: str, document_id: str, replaces: str | None) -> bool:
        """Notes a document intake received for a requirement; False when that changes nothing:
        noted before, or older than the one the case holds (a redelivered event)."""
        held = self.documents.get(requirement)
        if held == document_id or (held is not None and held != replaces):
            return False
        self.documents[requirement] = document_id
        self.missing_documents.discard(requirement)
        return True

    def note_complete(self, documents: Mapping[str, str]) -> bool:
        """Notes that intake has every mandatory document, keeping the newer of any the case
        holds already; False when the case knew it all."""
        unknown = {code: held for code, held in documents.items() if code not in self.documents}
        if not unknown and not self.missing_documents:
            return False
        self.documents.update(unknown)
        self.missing_documents.clear()
        return True

    def mark_deadline(self, timer: Timer, *, now: datetime) -> bool:
        """Records a warning or a breach once, if the timer is for the current deadline of a
        case the office is still working on; False when it fires nothing."""
        waiting_for_office = self.stage is not None
        if (
            timer.due_at != self.due_at
            or timer.key in self.deadline_marks
            or not waiting_for_office
        ):
            return False
        self.deadline_marks.add(timer.key)
        holder = None if self.claim is None else self.claim.officer
        if timer.mark is Mark.BREACH:
            self._record(
                DeadlineBreached,
                PROCESSING,
                now,
                due_at=self.due_at,
                holder=holder,
                service_point=self.service_point,
            )
        else:
            self._record(
                DeadlineWarning,
                PROCESSING,
                now,
                percent=timer.mark.percent,
                due_at=self.due_at,
                holder=holder,
                service_point=self.service_point,
            )
        return True

    def _claimed_by(self, actor: Actor, *stages: CaseStage) -> CaseStage:
        stage = self.stage
        if stage is None or (stages and stage not in stages):
            raise CaseRefused(
                "wrong_state", f"Langkah ini tidak berlaku untuk kasus berstatus {self.state}."
            )
        if self.claim is None or self.claim.officer != actor.id:
            raise NotAllowed("not_claimant", "Ambil kasus ini dulu sebelum mengerjakannya.")
        return stage

    def _record(self, event: type[CaseEvent], actor: Actor, now: datetime, **data: object) -> None:
        common = {"actor": actor, "request_id": self.request_id, "state": self.state, "at": now}
        self.events.append(event.model_validate(common | data))
        if event is not CaseViewed:
            self.steps.append(Step(kind=event.__name__, state=self.state.value, at=now))


def to_the_second(moment: datetime) -> datetime:
    """Deadlines are kept to the second, rounded down: stored and compared exactly everywhere,
    and never later than the rules allow."""
    return moment.replace(microsecond=0)
