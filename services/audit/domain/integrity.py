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

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.audit.domain.entry import LogEntry
from shared.calendar import JAKARTA, WorkingCalendar
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


class Rule(StrEnum):
    QUEUE_JUMP = "QUEUE_JUMP"
    """A case claimed ahead of older ones without one of the accepted reasons. Processing hands
    out work oldest first (claim-next) and every step after verification needs a claim of its
    own, so a case finished ahead of older ones was claimed out of order at some stage: that
    claim (`out_of_order`, `reason_code`) is where the jump shows."""
    DEADLINE_BREACH = "DEADLINE_BREACH"
    """A case's deadline, or an official letter's disposition deadline, passed."""
    BREACH_PATTERN = "BREACH_PATTERN"
    """One officer held the cases or dispositions of several breaches in one month (WIB)."""
    SELF_DEALING = "SELF_DEALING"
    """An officer acted on a request for themselves or someone on their family card."""
    OFF_HOURS = "OFF_HOURS"
    """A staff action outside office time on the working calendar (WIB)."""
    BULK_READS = "BULK_READS"
    """An officer read many cases they never held (claimed, or were reassigned), in one WIB
    day; reading a case one held before is part of the work."""
    REPEATED_SEND_BACKS = "REPEATED_SEND_BACKS"
    """The same request sent back to the citizen again and again."""
    ILLEGAL_FEE = "ILLEGAL_FEE"
    """A citizen reported an illegal fee (pungli)."""


@dataclass(frozen=True)
class Thresholds:
    """How much is too much; the office sets them (AUDIT_INTEGRITY_* settings)."""

    bulk_reads_per_day: int = 20
    send_backs_per_request: int = 3
    breaches_per_officer_month: int = 3
    valid_queue_reasons: frozenset[str] = frozenset(
        {"FUNERAL", "ELDERLY", "DISABLED", "PREGNANT", "MEDICAL", "DISASTER"}
        | {"SUPERVISOR_INSTRUCTION"}
    )
    memory_days: int = 120
    """How long a request, an officer's day or month is remembered after it was last seen."""


@dataclass(frozen=True)
class StaffIdentity:
    """An officer's own NIK and family card number, as pseudonyms under the log's key."""

    nik: str
    family_card: str | None


@dataclass(frozen=True)
class Finding:
    """What one entry showed: the alert to raise, before it is stored."""

    rule: Rule
    index: int
    """The entry that triggered it; with the rule, it names the alert."""
    occurred_at: datetime
    evidence: tuple[int, ...]
    """Indexes of the entries that show it, the triggering one included, in log order."""
    officers: tuple[str, ...]
    service_point: str | None
    about: str
    """The request, letter or complaint it is about (the entries' subject)."""
    summary: str
    """What happened, in Indonesian, for the auditor."""
    grown: bool = False
    """The alert was raised before by an earlier entry; this one adds to its evidence."""

    @property
    def alert_id(self) -> str:
        return alert_id(self.rule, self.index)


def alert_id(rule: Rule, index: int) -> str:
    return f"{rule.value.lower()}-{index}"


class Kind(StrEnum):
    """The kinds of part the memory is kept in; a part's name is `<kind>/<key>`."""

    REQUESTS = "requests"
    UNASSIGNED_READS = "unassigned_reads"
    """By `officer day`."""
    BREACHES = "breaches"
    """By `officer month`."""
    OFF_HOURS = "off_hours"
    """By `officer day`: the day's actions outside office time, one alert for them all."""


@dataclass
class RequestMemory:
    """What the rules keep about one request (or letter) while it is seen. Each fact keeps the
    entry that showed it, so that a rule judging an entry consults only what the entries up to it
    showed, however far past it the memory has gone (entries read again after a restart)."""

    last_seen: str
    service_point: str | None = None
    opened: int | None = None
    """The entry that gave its service point."""
    applicant_nik: str | None = None
    applicant_family_card: str | None = None
    submitted: int | None = None
    """The entry that named its applicant."""
    assigned: dict[str, int] = field(default_factory=dict)
    """Officers who ever held its case, with the first entry that shows it: they may read it."""
    touched: dict[str, int] = field(default_factory=dict)
    """Each officer who acted on it or read it, with the first entry that shows it."""
    send_backs: list[int] = field(default_factory=list)
    sent_back_by: dict[str, int] = field(default_factory=dict)
    """Each officer who sent it back, with their first send-back."""
    self_dealing: dict[str, int] = field(default_factory=dict)
    """Officers alerted for acting on their own request, with the entry that raised it."""


@dataclass
class CountMemory:
    """Entries counted for one officer in one period (a WIB day or month)."""

    last_seen: str
    indexes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class MemoryChanges:
    """What a save of the memory writes: the parts changed and those forgotten since the last."""

    written: dict[str, str]
    """Each changed part's JSON, by name."""
    forgotten: frozenset[str]


@dataclass
class RuleMemory:
    """Everything the rules remember between entries, in parts: one request, or one officer's
    count for a day or a month. Each part stays small, and the memory records which parts
    changed, so that saving it writes those parts only: neither grows with the log."""

    requests: dict[str, RequestMemory] = field(default_factory=dict)
    unassigned_reads: dict[str, CountMemory] = field(default_factory=dict)
    breaches: dict[str, CountMemory] = field(default_factory=dict)
    off_hours: dict[str, CountMemory] = field(default_factory=dict)
    _changed: set[str] = field(default_factory=set, init=False, compare=False, repr=False)
    _forgotten: set[str] = field(default_factory=set, init=False, compare=False, repr=False)

    def request(self, key: str, seen: datetime) -> RequestMemory:
        """The request's memory, to change: made if new, seen at `seen` at the latest."""
        memory = self.requests.setdefault(key, RequestMemory(last_seen=seen.isoformat()))
        memory.last_seen = max(memory.last_seen, seen.isoformat())
        self._mark(Kind.REQUESTS, key)
        return memory

    def count(self, kind: Kind, key: str, seen: datetime) -> CountMemory:
        """A count's memory, to change: made if new, seen at `seen` at the latest."""
        memory = self._counts(kind).setdefault(key, CountMemory(last_seen=seen.isoformat()))
        memory.last_seen = max(memory.last_seen, seen.isoformat())
        self._mark(kind, key)
        return memory

    def forget_before(self, moment: datetime) -> None:
        """Drops what was last seen before `moment`, so the memory stays bounded."""
        cutoff = moment.isoformat()
        for kind in Kind:
            memories = self._kind(kind)
            for key in [key for key, value in memories.items() if value.last_seen < cutoff]:
                del memories[key]
                self._changed.discard(f"{kind}/{key}")
                self._forgotten.add(f"{kind}/{key}")

    def take_changes(self) -> MemoryChanges:
        """The parts changed and forgotten since loaded or last taken; records afresh from here."""
        written = {name: text for name in self._changed if (text := self.part(name)) is not None}
        changes = MemoryChanges(written=written, forgotten=frozenset(self._forgotten))
        self._changed.clear()
        self._forgotten.clear()
        return changes

    def part(self, name: str) -> str | None:
        """One part's JSON, by name; None if not remembered."""
        kind, _, key = name.partition("/")
        value = self._kind(Kind(kind)).get(key)
        return None if value is None else json.dumps(asdict(value), **_COMPACT)

    def names(self) -> list[str]:
        """The name of every part remembered."""
        return [f"{kind}/{key}" for kind in Kind for key in self._kind(kind)]

    @classmethod
    def from_parts(cls, parts: Mapping[str, str]) -> RuleMemory:
        """The memory its saved parts make up, with nothing changed yet."""
        memory = cls()
        for name, text in parts.items():
            kind, _, key = name.partition("/")
            if kind == Kind.REQUESTS:
                memory.requests[key] = RequestMemory(**json.loads(text))
            else:
                memory._counts(Kind(kind))[key] = CountMemory(**json.loads(text))
        return memory

    @classmethod
    def from_json(cls, text: str) -> RuleMemory:
        """The memory as one JSON document, the shape it was once saved in, with every part
        changed, so that the next save writes it in parts. Facts that document kept without
        their entry count as shown before any entry."""
        raw = json.loads(text)
        memory = cls(
            requests={key: _old_request(value) for key, value in raw["requests"].items()},
            unassigned_reads={
                key: CountMemory(**value) for key, value in raw["unassigned_reads"].items()
            },
            breaches={key: CountMemory(**value) for key, value in raw["breaches"].items()},
            off_hours={
                key: CountMemory(**value) for key, value in raw.get("off_hours", {}).items()
            },
        )
        memory._changed.update(memory.names())
        return memory

    def _mark(self, kind: Kind, key: str) -> None:
        self._changed.add(f"{kind}/{key}")
        self._forgotten.discard(f"{kind}/{key}")

    def _kind(self, kind: Kind) -> dict[str, RequestMemory] | dict[str, CountMemory]:
        return self.requests if kind == Kind.REQUESTS else self._counts(kind)

    def _counts(self, kind: Kind) -> dict[str, CountMemory]:
        counts = {
            Kind.UNASSIGNED_READS: self.unassigned_reads,
            Kind.BREACHES: self.breaches,
            Kind.OFF_HOURS: self.off_hours,
        }
        return counts[kind]


_COMPACT: dict[str, Any] = {"separators": (",", ":"), "sort_keys": True}
BEFORE_ANY_ENTRY = -1


def _old_request(raw: dict[str, Any]) -> RequestMemory:
    def since_before(officers: list[str]) -> dict[str, int]:
        return dict.fromkeys(officers, BEFORE_ANY_ENTRY)

    return RequestMemory(
        last_seen=raw["last_seen"],
        service_point=raw.get("service_point"),
        opened=BEFORE_ANY_ENTRY,
        applicant_nik=raw.get("applicant_nik"),
        applicant_family_card=raw.get("applicant_family_card"),
        submitted=BEFORE_ANY_ENTRY,
        assigned=since_before(raw.get("assigned", [])),
        touched=raw.get("touched", {}),
        send_backs=raw.get("send_backs", []),
        sent_back_by=since_before(raw.get("sent_back_by", [])),
        self_dealing=since_before(raw.get("self_dealing", [])),
    )


@dataclass(frozen=True)
class Context:
    """What every rule may consult besides its memory."""

    thresholds: Thresholds
    calendar: WorkingCalendar
    staff: Mapping[str, StaffIdentity]


@dataclass(frozen=True)
class Step:
    """One entry as the rules read it."""

    entry: LogEntry
    at: datetime
    actor_kind: str
    actor_id: str
    actor_service_point: str | None

    @property
    def index(self) -> int:
        return self.entry.index

    @property
    def data(self) -> dict[str, Any]:
        return self.entry.data

    @property
    def is_officer(self) -> bool:
        """Office staff or a village operator: someone who handles citizens' requests."""
        return self.actor_kind in (ActorKind.STAFF, ActorKind.OPERATOR)

    @classmethod
    def of(cls, entry: LogEntry) -> Step:
        actor = entry.data.get("actor") or {}
        return cls(
            entry=entry,
            at=datetime.fromisoformat(entry.event_time).astimezone(UTC),
            actor_kind=str(actor.get("kind", "")),
            actor_id=str(actor.get("id", "")),
            actor_service_point=actor.get("service_point"),
        )


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
