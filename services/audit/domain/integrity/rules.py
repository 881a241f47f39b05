"""Integrity rules over the audit log: each a pure function of what the rules remember and one
entry, returning the findings that entry triggers.

The rules read only what the log holds: the event type, the event's time, its (pseudonymised)
data and its `actor`, never a token. What they remember between entries (`RuleMemory`) is plain
data of entry indexes: each fact keeps the entry that showed it, and a rule judging an entry
consults only the facts that entries up to it showed. So an entry evaluated again, on a memory
that holds it and perhaps later entries too (the memory is saved before the position, and a
restart in between reads those entries again), remembers nothing new and finds what it found the
first time. A finding that a count triggers is raised by the entry that makes the count reach
its threshold (the threshold-th index remembered), so replaying entries after a restart raises
the same finding from the same entry, with the same id, and no other.

Rules skip the integrity topic itself, so an alert audit logs, or an auditor's acknowledgement
at night, never raises an alert of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.context import Context, Step
from services.audit.domain.integrity.findings import Finding, Rule
from services.audit.domain.integrity.memory import CountMemory, Kind, RuleMemory
from shared.calendar import JAKARTA
from shared.events.envelope import ActorKind
from shared.events.models import EVENT_TYPES
from shared.events.models.cases import (
    CaseClaimed,
    CaseOpened,
    CaseReassigned,
    CaseViewed,
    DeadlineBreached,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.events.models.letters import DispositionEscalated
from shared.events.models.requests import DocumentViewed, RequestSubmitted
from shared.events.topics import INTEGRITY

NO_REASON = "-"


def _counted(memory: CountMemory, index: int, threshold: int) -> bool:
    """Remembers `index`; True when it is the one that makes the count reach `threshold`. Only
    the first `threshold` are kept: a later one can never be the threshold-th, counted again or
    not, and the part stays as small as the threshold."""
    if index not in memory.indexes:
        memory.indexes.append(index)
        memory.indexes.sort()
        del memory.indexes[threshold:]
    return len(memory.indexes) >= threshold and memory.indexes[threshold - 1] == index


def _first(officers: dict[str, int], officer: str, index: int) -> None:
    officers[officer] = min(officers.get(officer, index), index)


def _by(officers: dict[str, int], index: int) -> dict[str, int]:
    """The officers shown by entries up to `index`, each with their first entry."""
    return {officer: first for officer, first in officers.items() if first <= index}


def _month(moment: datetime) -> str:
    return moment.astimezone(JAKARTA).strftime("%Y-%m")


def _day(moment: datetime) -> str:
    return moment.astimezone(JAKARTA).strftime("%Y-%m-%d")


def remember_requests(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """Keeps what later rules need: applicants, service points, holders and who acted on what."""
    del context
    kind, data = step.entry.event_type, step.data
    if kind == RequestSubmitted.event_type:
        request = memory.request(step.entry.subject, step.at)
        applicant = data.get("applicant") or {}
        form = data.get("form")
        request.applicant_nik = applicant.get("nik")
        request.applicant_family_card = (
            form.get("family_card_number") if isinstance(form, dict) else None
        )
        request.submitted = step.index
    elif kind == CaseOpened.event_type:
        request = memory.request(step.entry.subject, step.at)
        request.service_point = data.get("service_point")
        request.opened = step.index
    if not step.is_officer or step.entry.event_type == ComplaintFiled.event_type:
        return []
    request = memory.request(step.entry.subject, step.at)
    holder = data.get("to_officer") if kind == CaseReassigned.event_type else step.actor_id
    if kind in (CaseClaimed.event_type, CaseReassigned.event_type) and holder:
        _first(request.assigned, holder, step.index)
    _first(request.touched, step.actor_id, step.index)
    return []


_READS = frozenset({CaseViewed.event_type, DocumentViewed.event_type})


def queue_jumping(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """A claim out of queue order whose reason is missing or not one the office accepts."""
    if step.entry.event_type != CaseClaimed.event_type or not step.data.get("out_of_order"):
        return []
    reason = step.data.get("reason_code")
    if reason in context.thresholds.valid_queue_reasons:
        return []
    return [
        _finding(
            memory,
            step,
            Rule.QUEUE_JUMP,
            evidence=[step.index],
            officers=[step.actor_id],
            summary=f"Kasus diambil mendahului antrean tanpa alasan yang sah "
            f"(alasan: {reason or NO_REASON}).",
        )
    ]


def deadline_breaches(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """Every breached case or escalated disposition, and the officer whose breaches in one month
    reach the threshold."""
    kind = step.entry.event_type
    if kind == DeadlineBreached.event_type:
        what = "Batas waktu layanan terlampaui."
        service_point = step.data.get("service_point")
    elif kind == DispositionEscalated.event_type:
        what = "Batas waktu tindak lanjut disposisi surat terlampaui."
        service_point = step.data.get("holder_unit")
    else:
        return []
    holder = step.data.get("holder")
    officers = [holder] if holder else []
    findings = [
        _finding(
            memory,
            step,
            Rule.DEADLINE_BREACH,
            evidence=[step.index],
            officers=officers,
            summary=what,
            service_point=service_point,
        )
    ]
    if holder:
        month = _month(step.at)
        counted = memory.count(Kind.BREACHES, f"{holder} {month}", step.at)
        threshold = context.thresholds.breaches_per_officer_month
        if _counted(counted, step.index, threshold):
            findings.append(
                _finding(
                    memory,
                    step,
                    Rule.BREACH_PATTERN,
                    evidence=counted.indexes[:threshold],
                    officers=officers,
                    summary=f"{threshold} pelanggaran batas waktu oleh petugas yang sama "
                    f"dalam bulan {month}.",
                    service_point=service_point,
                )
            )
    return findings


def self_dealing(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """An officer acting on a request whose applicant is the officer, or on the officer's family
    card: compared by pseudonym, once per officer and request (by the first such entry)."""
    identity = context.staff.get(step.actor_id)
    request = memory.requests.get(step.entry.subject)
    if not step.is_officer or identity is None or request is None:
        return []
    raised = request.self_dealing.get(step.actor_id)
    if raised is not None and raised != step.index:
        return []
    if request.submitted is None or request.submitted > step.index:
        return []
    own = request.applicant_nik is not None and request.applicant_nik == identity.nik
    family = (
        request.applicant_family_card is not None
        and request.applicant_family_card == identity.family_card
    )
    if not (own or family):
        return []
    memory.request(step.entry.subject, step.at).self_dealing[step.actor_id] = step.index
    whose = "dirinya sendiri" if own else "anggota kartu keluarganya"
    return [
        _finding(
            memory,
            step,
            Rule.SELF_DEALING,
            evidence=[step.index],
            officers=[step.actor_id],
            summary=f"Petugas memproses permohonan untuk {whose}.",
        )
    ]


def off_hours(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """Office staff actions at instants outside office time (a holiday, a weekend, or before
    opening or after closing on a working day, in WIB): one alert per officer and day, raised by
    the first, with every later one of the day added to its evidence. Village operators keep
    their village's hours, so their actions are not judged by the office's."""
    if step.actor_kind != ActorKind.STAFF:
        return []
    if context.calendar.working_time_between(step.at, step.at + _INSTANT) > timedelta(0):
        return []
    day = _day(step.at)
    actions = memory.count(Kind.OFF_HOURS, f"{step.actor_id} {day}", step.at)
    if step.index not in actions.indexes:
        if len(actions.indexes) >= MAX_OFF_HOURS_EVIDENCE:
            return []
        actions.indexes.append(step.index)
        actions.indexes.sort()
    shown = [index for index in actions.indexes if index <= step.index]
    first = shown[0]
    count = len(shown)
    finding = _finding(
        memory,
        step,
        Rule.OFF_HOURS,
        evidence=shown,
        officers=[step.actor_id],
        summary=f"Tindakan petugas di luar jam layanan pada {day} (WIB): {count} tindakan"
        + (" atau lebih." if count == MAX_OFF_HOURS_EVIDENCE else "."),
    )
    return [replace(finding, index=first, grown=count > 1)]


MAX_OFF_HOURS_EVIDENCE = 200
"""Actions an off-hours alert lists; the day's alert stands for any beyond."""
_INSTANT = timedelta(microseconds=1)


def bulk_reads(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """Reads of cases the reader had not held before, counted per officer per WIB day."""
    if step.entry.event_type not in _READS or not step.is_officer:
        return []
    request = memory.requests.get(step.entry.subject)
    if request is not None and step.actor_id in _by(request.assigned, step.index):
        return []
    day = _day(step.at)
    counted = memory.count(Kind.UNASSIGNED_READS, f"{step.actor_id} {day}", step.at)
    threshold = context.thresholds.bulk_reads_per_day
    if not _counted(counted, step.index, threshold):
        return []
    return [
        _finding(
            memory,
            step,
            Rule.BULK_READS,
            evidence=counted.indexes[:threshold],
            officers=[step.actor_id],
            summary=f"{threshold} kasus yang tidak ditugaskan dibaca oleh petugas yang sama "
            f"pada {day}.",
        )
    ]


def repeated_send_backs(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """The same request sent back to the citizen the threshold-th time."""
    if step.entry.event_type != RevisionRequested.event_type:
        return []
    request = memory.request(step.entry.subject, step.at)
    counted = CountMemory(last_seen=request.last_seen, indexes=request.send_backs)
    threshold = context.thresholds.send_backs_per_request
    _first(request.sent_back_by, step.actor_id, step.index)
    if not _counted(counted, step.index, threshold):
        return []
    return [
        _finding(
            memory,
            step,
            Rule.REPEATED_SEND_BACKS,
            evidence=counted.indexes[:threshold],
            officers=list(_by(request.sent_back_by, step.index)),
            summary=f"Permohonan yang sama dikembalikan ke pemohon {threshold} kali.",
        )
    ]


def illegal_fees(memory: RuleMemory, step: Step, context: Context) -> list[Finding]:
    """Every illegal-fee complaint, with the officers who acted on the request it names."""
    del context
    data = step.data
    if (
        step.entry.event_type != ComplaintFiled.event_type
        or data.get("category") != ComplaintCategory.ILLEGAL_FEE
    ):
        return []
    request_id = data.get("request_id")
    request = memory.requests.get(request_id) if request_id else None
    touched = _by(request.touched, step.index) if request is not None else {}
    return [
        _finding(
            memory,
            step,
            Rule.ILLEGAL_FEE,
            evidence=[*touched.values(), step.index],
            officers=list(touched),
            summary="Pengaduan pungutan liar"
            + (f" atas permohonan {request_id}." if request_id else " tanpa nomor permohonan."),
            about=request_id or step.entry.subject,
        )
    ]


def _finding(
    memory: RuleMemory,
    step: Step,
    rule: Rule,
    *,
    evidence: list[int],
    officers: list[str],
    summary: str,
    service_point: str | None = None,
    about: str | None = None,
) -> Finding:
    subject = about or step.entry.subject
    request = memory.requests.get(subject)
    opened = request is not None and request.opened is not None and request.opened <= step.index
    return Finding(
        rule=rule,
        index=step.index,
        occurred_at=step.at,
        evidence=tuple(sorted(set(evidence))),
        officers=tuple(sorted(set(officers))),
        service_point=service_point
        or (request.service_point if request is not None and opened else None)
        or step.actor_service_point,
        about=subject,
        summary=summary,
    )


RuleFunction = Callable[[RuleMemory, Step, Context], list[Finding]]

RULES: tuple[RuleFunction, ...] = (
    remember_requests,
    queue_jumping,
    deadline_breaches,
    self_dealing,
    off_hours,
    bulk_reads,
    repeated_send_backs,
    illegal_fees,
)
"""In the order they run: `remember_requests` first, so that the others see the entry's own
request, holder and actor."""


def evaluate(memory: RuleMemory, entry: LogEntry, context: Context) -> list[Finding]:
    """Applies every rule to one entry, in order; the findings it triggers."""
    if _on_integrity_topic(entry):
        return []
    step = Step.of(entry)
    return [finding for rule in RULES for finding in rule(memory, step, context)]


def _on_integrity_topic(entry: LogEntry) -> bool:
    event = EVENT_TYPES.get(entry.event_type)
    return event is not None and event.topic == INTEGRITY
