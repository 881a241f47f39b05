"""Each integrity rule on its own: clean activity raises nothing, each violation exactly one
finding with the entries that show it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.domain.entry import LogEntry
from services.audit.domain.integrity.context import Context, StaffIdentity, Step, Thresholds
from services.audit.domain.integrity.findings import Finding, Rule
from services.audit.domain.integrity.memory import RuleMemory
from services.audit.domain.integrity.rules import (
    bulk_reads,
    deadline_breaches,
    evaluate,
    illegal_fees,
    off_hours,
    queue_jumping,
    remember_requests,
    repeated_send_backs,
    self_dealing,
)
from services.audit.domain.pseudonym import pseudonym, pseudonymise
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.cases import (
    CaseClaimed,
    CaseStage,
    CaseVerified,
    CaseViewed,
    DeadlineBreached,
    RevisionRequested,
)
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.events.models.integrity import IntegrityAlertAcknowledged
from shared.events.models.letters import DispositionEscalated
from shared.events.models.requests import RequestSubmitted
from tests.builders import CITIZEN, FAMILY_CARD, FORM_FIELDS, SYSTEM, VALID_NIK, applicant

KEY = b"pseudonym-key"
MONDAY_0830_WIB = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
CONTEXT = Context(
    thresholds=Thresholds(bulk_reads_per_day=3, send_backs_per_request=3),
    calendar=WorkingCalendar(),
    staff={},
)


def officer(name: str = "verifier-1") -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        id=name,
        role="verifier",
        service_point="KANTOR_DINAS",
        channel=Channel.API,
    )


class Log:
    """Events as audit logs them: numbered in order, personal data pseudonymised."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def add(self, event: Event, at: datetime = MONDAY_0830_WIB) -> LogEntry:
        entry = LogEntry(
            index=len(self.entries),
            event_id=str(uuid.uuid4()),
            event_type=event.event_type,
            source="/test",
            subject=event.subject,
            event_time=at.isoformat(),
            recorded_at=at.isoformat(),
            data=pseudonymise(type(event), event.model_dump(mode="json"), KEY),
        )
        self.entries.append(entry)
        return entry

    def run(self, context: Context = CONTEXT) -> list[Finding]:
        memory = RuleMemory()
        return [finding for entry in self.entries for finding in evaluate(memory, entry, context)]


def submitted(request_id: str, *, nik: str = VALID_NIK, actor: Actor = CITIZEN) -> RequestSubmitted:
    return RequestSubmitted(
        actor=actor,
        request_id=request_id,
        service_code="KK_UBAH",
        tracking_number="K7M2Q9XP",
        applicant=applicant(nik=nik),
        form=FORM_FIELDS["KK_UBAH"],
        submitted_at=MONDAY_0830_WIB,
        deadline_working_days=1,
        expected_at=MONDAY_0830_WIB + timedelta(days=1),
    )


def claimed(
    request_id: str, actor: Actor, *, out_of_order: bool = False, reason: str | None = None
) -> CaseClaimed:
    return CaseClaimed(
        actor=actor,
        request_id=request_id,
        state="IN_VERIFICATION",
        at=MONDAY_0830_WIB,
        stage=CaseStage.VERIFICATION,
        out_of_order=out_of_order,
        reason_code=reason,
    )


def viewed(request_id: str, actor: Actor) -> CaseViewed:
    return CaseViewed(
        actor=actor, request_id=request_id, state="IN_VERIFICATION", at=MONDAY_0830_WIB
    )


def verified(request_id: str, actor: Actor) -> CaseVerified:
    return CaseVerified(
        actor=actor, request_id=request_id, state="IN_VERIFICATION", at=MONDAY_0830_WIB
    )


def sent_back(request_id: str, actor: Actor) -> RevisionRequested:
    return RevisionRequested(
        actor=actor,
        request_id=request_id,
        state="NEEDS_REVISION",
        at=MONDAY_0830_WIB,
        items=["Foto KK buram"],
    )


def breached(request_id: str, holder: str | None) -> DeadlineBreached:
    return DeadlineBreached(
        actor=SYSTEM,
        request_id=request_id,
        state="IN_VERIFICATION",
        at=MONDAY_0830_WIB,
        due_at=MONDAY_0830_WIB,
        holder=holder,
    )


def escalated(letter_id: str, holder: str) -> DispositionEscalated:
    return DispositionEscalated(
        actor=SYSTEM,
        letter_id=letter_id,
        state="DISPOSED",
        at=MONDAY_0830_WIB,
        disposition_id="D1",
        holder=holder,
        holder_unit="BIDANG_PIAK",
        escalated_to="kadis-1",
        due_at=MONDAY_0830_WIB,
    )


def complaint(
    request_id: str | None, category: ComplaintCategory = ComplaintCategory.ILLEGAL_FEE
) -> ComplaintFiled:
    return ComplaintFiled(
        actor=CITIZEN,
        complaint_id=f"complaint-{uuid.uuid4().hex[:8]}",
        complaint_number="ADU-0001",
        category=category,
        description="Diminta uang Rp100.000 oleh petugas",
        request_id=request_id,
        anonymous=True,
        filed_at=MONDAY_0830_WIB,
    )


def only(rule: Rule, findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.rule is rule]


def test_claims_in_order_or_with_an_accepted_reason_raise_nothing() -> None:
    log = Log()
    log.add(claimed("req-1", officer()))
    log.add(claimed("req-2", officer(), out_of_order=True, reason="FUNERAL"))

    assert only(Rule.QUEUE_JUMP, log.run()) == []


@pytest.mark.parametrize("reason", ["TEMAN_SAYA", None])
def test_a_claim_out_of_order_without_an_accepted_reason_is_queue_jumping(
    reason: str | None,
) -> None:
    log = Log()
    log.add(claimed("req-1", officer()))
    jump = log.add(claimed("req-2", officer(), out_of_order=True, reason=reason))

    [finding] = only(Rule.QUEUE_JUMP, log.run())

    assert finding.index == jump.index
    assert finding.evidence == (jump.index,)
    assert finding.officers == ("verifier-1",)
    assert finding.about == "req-2"
    assert finding.alert_id == f"queue_jump-{jump.index}"


def test_every_deadline_breach_is_raised_and_an_officers_third_in_a_month_is_a_pattern() -> None:
    log = Log()
    first = log.add(breached("req-1", "verifier-1"))
    log.add(breached("req-2", "verifier-2"))
    second = log.add(escalated("2025-00001", "verifier-1"))
    third = log.add(breached("req-3", "verifier-1"), MONDAY_0830_WIB + timedelta(days=3))
    log.add(breached("req-4", "verifier-1"), MONDAY_0830_WIB + timedelta(days=4))
    log.add(breached("req-5", None))

    findings = log.run()

    assert len(only(Rule.DEADLINE_BREACH, findings)) == 6
    [pattern] = only(Rule.BREACH_PATTERN, findings)
    assert pattern.index == third.index
    assert pattern.evidence == (first.index, second.index, third.index)
    assert pattern.officers == ("verifier-1",)


def test_breaches_in_different_months_make_no_pattern() -> None:
    log = Log()
    log.add(breached("req-1", "verifier-1"))
    log.add(breached("req-2", "verifier-1"))
    log.add(breached("req-3", "verifier-1"), MONDAY_0830_WIB + timedelta(days=40))

    assert only(Rule.BREACH_PATTERN, log.run()) == []


def test_an_escalated_disposition_is_counted_for_the_holders_unit() -> None:
    log = Log()
    log.add(escalated("2025-00001", "kabid-1"))

    [finding] = log.run()

    assert (finding.rule, finding.service_point, finding.about) == (
        Rule.DEADLINE_BREACH,
        "BIDANG_PIAK",
        "2025-00001",
    )


def directory(nik: str, family_card: str | None) -> Context:
    return Context(
        thresholds=Thresholds(),
        calendar=WorkingCalendar(),
        staff={
            "verifier-1": StaffIdentity(
                nik=pseudonym(nik, KEY),
                family_card=None if family_card is None else pseudonym(family_card, KEY),
            )
        },
    )


def test_an_officer_acting_on_their_own_request_is_self_dealing_once() -> None:
    log = Log()
    log.add(submitted("req-1"))
    claim = log.add(claimed("req-1", officer()))
    log.add(verified("req-1", officer()))

    [finding] = only(Rule.SELF_DEALING, log.run(directory(VALID_NIK, None)))

    assert finding.index == claim.index
    assert finding.officers == ("verifier-1",)
    assert "dirinya sendiri" in finding.summary


def test_an_officer_acting_on_their_familys_request_is_self_dealing() -> None:
    log = Log()
    log.add(submitted("req-1", nik="3516095005500002"))
    claim = log.add(claimed("req-1", officer()))

    [finding] = only(Rule.SELF_DEALING, log.run(directory("3516091204800003", FAMILY_CARD)))

    assert finding.index == claim.index
    assert "kartu keluarga" in finding.summary


def test_strangers_requests_and_other_officers_are_not_self_dealing() -> None:
    log = Log()
    log.add(submitted("req-1", nik="3516095005500002"))
    log.add(claimed("req-1", officer()))
    log.add(submitted("req-2"))
    log.add(claimed("req-2", officer("verifier-2")))

    assert only(Rule.SELF_DEALING, log.run(directory("3516091204800003", "3516090101080009"))) == []


@pytest.mark.parametrize(
    "at",
    [
        datetime(2025, 3, 3, 0, 59, tzinfo=UTC),  # Monday 07.59 WIB
        datetime(2025, 3, 3, 9, 0, tzinfo=UTC),  # Monday 16.00 WIB, closing time
        datetime(2025, 3, 8, 3, 0, tzinfo=UTC),  # Saturday
        datetime(2025, 3, 31, 3, 0, tzinfo=UTC),  # Idul Fitri, a public holiday
    ],
)
def test_a_staff_action_outside_office_time_is_raised(at: datetime) -> None:
    log = Log()
    entry = log.add(verified("req-1", officer()), at)

    [finding] = log.run()

    assert (finding.rule, finding.index, finding.officers) == (
        Rule.OFF_HOURS,
        entry.index,
        ("verifier-1",),
    )


def test_an_officers_actions_on_one_day_off_hours_make_one_alert_that_grows() -> None:
    log = Log()
    saturday = datetime(2025, 3, 8, 3, 0, tzinfo=UTC)
    first = log.add(verified("req-1", officer()), saturday)
    second = log.add(verified("req-2", officer()), saturday + timedelta(hours=1))
    other = log.add(verified("req-3", officer("verifier-2")), saturday)
    sunday = log.add(verified("req-4", officer()), saturday + timedelta(days=1))

    findings = only(Rule.OFF_HOURS, log.run())

    assert [(f.alert_id, f.evidence, f.grown) for f in findings] == [
        (f"off_hours-{first.index}", (first.index,), False),
        (f"off_hours-{first.index}", (first.index, second.index), True),
        (f"off_hours-{other.index}", (other.index,), False),
        (f"off_hours-{sunday.index}", (sunday.index,), False),
    ]
    assert "2025-03-08 (WIB): 2 tindakan" in findings[1].summary


def test_actions_in_office_time_and_the_systems_or_village_operators_at_night_raise_nothing() -> (
    None
):
    log = Log()
    log.add(verified("req-1", officer()), datetime(2025, 3, 7, 9, 29, tzinfo=UTC))  # Fri 16.29
    log.add(breached("req-2", None), datetime(2025, 3, 8, 17, 0, tzinfo=UTC))
    village = Actor(kind=ActorKind.OPERATOR, id="desa-1", village="3516092001", channel=Channel.API)
    log.add(submitted("req-3", actor=village), datetime(2025, 3, 8, 12, 0, tzinfo=UTC))

    assert only(Rule.OFF_HOURS, log.run()) == []


def test_reading_many_cases_never_held_in_one_day_is_raised_once() -> None:
    log = Log()
    log.add(claimed("own", officer()))
    log.add(viewed("own", officer()))
    reads = [log.add(viewed(f"req-{n}", officer())) for n in range(5)]

    [finding] = only(Rule.BULK_READS, log.run())

    assert finding.index == reads[2].index
    assert finding.evidence == tuple(read.index for read in reads[:3])


def test_reads_of_held_cases_or_spread_over_days_are_not_bulk() -> None:
    log = Log()
    for n in range(5):
        log.add(claimed(f"req-{n}", officer()))
        log.add(viewed(f"req-{n}", officer()))
    for day in range(3):
        log.add(viewed(f"other-{day}", officer()), MONDAY_0830_WIB + timedelta(days=day))

    assert only(Rule.BULK_READS, log.run()) == []


def test_the_third_send_back_of_one_request_is_raised_with_all_three() -> None:
    log = Log()
    backs = [log.add(sent_back("req-1", officer())) for _ in range(2)]
    log.add(sent_back("req-2", officer()))
    backs.append(log.add(sent_back("req-1", officer("verifier-2"))))
    log.add(sent_back("req-1", officer()))

    [finding] = only(Rule.REPEATED_SEND_BACKS, log.run())

    assert finding.index == backs[2].index
    assert finding.evidence == tuple(back.index for back in backs)
    assert finding.officers == ("verifier-1", "verifier-2")


def test_an_illegal_fee_complaint_is_linked_to_every_officer_who_touched_the_request() -> None:
    log = Log()
    log.add(submitted("req-1"))
    claim = log.add(claimed("req-1", officer()))
    read = log.add(viewed("req-1", officer("supervisor-1")))
    back = log.add(sent_back("req-1", officer("verifier-2")))
    log.add(sent_back("req-1", officer("verifier-2")))
    log.add(claimed("req-2", officer("verifier-3")))
    filed = log.add(complaint("req-1"))

    [finding] = only(Rule.ILLEGAL_FEE, log.run())

    assert finding.officers == ("supervisor-1", "verifier-1", "verifier-2")
    assert finding.evidence == (claim.index, read.index, back.index, filed.index)
    assert finding.about == "req-1"


def test_other_complaints_raise_nothing_and_one_without_a_request_names_no_officer() -> None:
    log = Log()
    log.add(claimed("req-1", officer()))
    log.add(complaint("req-1", ComplaintCategory.RUDENESS))
    filed = log.add(complaint(None))

    [finding] = log.run()

    assert (finding.rule, finding.officers, finding.evidence) == (
        Rule.ILLEGAL_FEE,
        (),
        (filed.index,),
    )


def test_audits_own_integrity_events_are_never_judged() -> None:
    log = Log()
    log.add(
        IntegrityAlertAcknowledged(
            actor=officer("auditor-1"), alert_id="off_hours-1", at=MONDAY_0830_WIB
        ),
        datetime(2025, 3, 8, 17, 0, tzinfo=UTC),
    )

    assert log.run() == []


def test_replaying_entries_on_the_memory_finds_nothing_new() -> None:
    log = Log()
    for _ in range(3):
        log.add(sent_back("req-1", officer()))
    memory = RuleMemory()
    first = [f for entry in log.entries for f in evaluate(memory, entry, CONTEXT)]
    restored = RuleMemory.from_parts(memory.take_changes().written)
    again = [f for entry in log.entries[1:] for f in evaluate(restored, entry, CONTEXT)]

    assert [f.alert_id for f in first] == [f.alert_id for f in again]
    assert len(first) == 1


def test_each_rule_is_a_function_of_memory_and_one_entry() -> None:
    log = Log()
    entry = log.add(claimed("req-1", officer(), out_of_order=True, reason="X_REASON"))
    memory = RuleMemory()
    step = Step.of(entry)

    assert remember_requests(memory, step, CONTEXT) == []
    assert [f.rule for f in queue_jumping(memory, step, CONTEXT)] == [Rule.QUEUE_JUMP]
    for rule in (deadline_breaches, self_dealing, off_hours, bulk_reads, repeated_send_backs):
        assert rule(memory, step, CONTEXT) == []
    assert illegal_fees(memory, step, CONTEXT) == []
    assert memory.requests["req-1"].assigned == {"verifier-1": entry.index}
