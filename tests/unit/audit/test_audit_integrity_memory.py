"""The rules' memory in parts: which parts a save writes, what it forgets, the shape it was once
saved in, and the rules' idempotence by entry index that lets a save write parts before moving
the position."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.domain.integrity.context import Context, StaffIdentity, Thresholds
from services.audit.domain.integrity.findings import Finding, Rule
from services.audit.domain.integrity.memory import Kind, MemoryChanges, RuleMemory
from services.audit.domain.integrity.rules import evaluate
from services.audit.domain.pseudonym import pseudonym
from services.audit.service_layer.integrity import IntegrityEngine
from shared.calendar import WorkingCalendar
from tests.builders import FAMILY_CARD, VALID_NIK, case_opened
from tests.contracts.integrity import EngineProgressContract, Instance
from tests.fakes import FakeClock
from tests.fakes_audit import FakeAlerts, FakeLogEntries, FakeProgress
from tests.unit.audit.test_audit_integrity_rules import (
    KEY,
    MONDAY_0830_WIB,
    Log,
    breached,
    claimed,
    complaint,
    officer,
    sent_back,
    submitted,
    verified,
    viewed,
)

CONTEXT = Context(
    thresholds=Thresholds(bulk_reads_per_day=3, send_backs_per_request=3),
    calendar=WorkingCalendar(),
    staff={
        "verifier-1": StaffIdentity(
            nik=pseudonym(VALID_NIK, KEY), family_card=pseudonym(FAMILY_CARD, KEY)
        )
    },
)
SATURDAY = datetime(2025, 3, 8, 3, 0, tzinfo=UTC)


def every_rule() -> Log:
    """Entries raising every rule, several of them judged on facts that later entries change:
    a case read and then claimed, an officer acting on a request before its submission is
    logged, a complaint before others touch its request, send-backs by an officer after the
    threshold-th, a claim before its case's service point is known."""
    log = Log()
    log.add(viewed("req-9", officer()))
    log.add(viewed("req-8", officer()))
    log.add(claimed("req-9", officer()))
    log.add(viewed("req-7", officer()))
    log.add(verified("req-2", officer()))
    log.add(submitted("req-2"))
    log.add(claimed("req-2", officer()))
    log.add(claimed("req-3", officer("verifier-2")))
    log.add(complaint("req-3"))
    log.add(viewed("req-3", officer("supervisor-1")))
    log.add(sent_back("req-4", officer("verifier-2")))
    log.add(sent_back("req-4", officer("verifier-2")))
    log.add(sent_back("req-4", officer("verifier-3")))
    log.add(sent_back("req-4", officer("verifier-4")))
    log.add(verified("req-5", officer("verifier-2")), SATURDAY)
    log.add(verified("req-6", officer("verifier-2")), SATURDAY + timedelta(hours=1))
    for n in range(3):
        log.add(breached(f"req-1{n}", "verifier-3"))
    log.add(claimed("req-20", officer("verifier-4"), out_of_order=True))
    log.add(case_opened("req-20").model_copy(update={"service_point": "MPP_MOJOSARI"}))
    return log


def findings_by_entry(memory: RuleMemory, log: Log, start: int = 0) -> list[list[Finding]]:
    return [evaluate(memory, entry, CONTEXT) for entry in log.entries[start:]]


def parts(memory: RuleMemory) -> dict[str, str | None]:
    return {name: memory.part(name) for name in memory.names()}


def test_the_log_raises_every_rule() -> None:
    findings = findings_by_entry(RuleMemory(), every_rule())

    assert {finding.rule for found in findings for finding in found} == set(Rule)


def test_a_save_takes_only_the_parts_the_entries_changed_since_the_last() -> None:
    log = Log()
    log.add(claimed("req-1", officer()))
    log.add(viewed("req-2", officer()))
    memory = RuleMemory()
    for entry in log.entries:
        evaluate(memory, entry, CONTEXT)

    first = memory.take_changes()
    log.add(verified("req-1", officer()))
    evaluate(memory, log.entries[-1], CONTEXT)
    second = memory.take_changes()

    assert sorted(first.written) == [
        "requests/req-1",
        "requests/req-2",
        "unassigned_reads/verifier-1 2025-03-03",
    ]
    assert second == MemoryChanges(
        written={"requests/req-1": memory.part("requests/req-1") or ""}, forgotten=frozenset()
    )
    assert memory.take_changes() == MemoryChanges(written={}, forgotten=frozenset())


def test_every_change_an_entry_makes_is_taken_so_the_saved_parts_make_up_the_memory() -> None:
    memory = RuleMemory()
    saved: dict[str, str] = {}
    for entry in every_rule().entries:
        before = parts(memory)
        evaluate(memory, entry, CONTEXT)
        if entry.index % 4 == 0:
            memory.forget_before(MONDAY_0830_WIB + timedelta(days=entry.index % 3))
        changes = memory.take_changes()
        changed = {name for name, text in parts(memory).items() if before.get(name) != text}
        assert changed <= set(changes.written), entry
        assert set(before) - set(parts(memory)) <= changes.forgotten, entry
        assert not changes.forgotten & set(parts(memory)), entry
        saved = {
            n: t for n, t in {**saved, **changes.written}.items() if n not in changes.forgotten
        }

    assert RuleMemory.from_parts(saved) == memory


def test_forgotten_parts_are_taken_as_forgotten_and_a_part_seen_again_as_written() -> None:
    memory = RuleMemory()
    memory.request("req-1", MONDAY_0830_WIB)
    memory.count(Kind.BREACHES, "verifier-1 2025-03", MONDAY_0830_WIB)
    memory.take_changes()
    later = MONDAY_0830_WIB + timedelta(days=121)
    memory.request("req-2", later)
    memory.count(Kind.OFF_HOURS, "verifier-1 2025-07-02", later)

    memory.forget_before(later - timedelta(days=120))
    memory.request("req-1", later)

    changes = memory.take_changes()
    assert sorted(changes.written) == [
        "off_hours/verifier-1 2025-07-02",
        "requests/req-1",
        "requests/req-2",
    ]
    assert changes.forgotten == {"breaches/verifier-1 2025-03"}
    assert memory.requests["req-1"].touched == {}


def test_counts_keep_the_entries_up_to_their_threshold_only() -> None:
    log = Log()
    reads = [log.add(viewed(f"req-{n}", officer())) for n in range(10)]
    memory = RuleMemory()

    for entry in log.entries:
        evaluate(memory, entry, CONTEXT)

    assert memory.unassigned_reads["verifier-1 2025-03-03"].indexes == [
        read.index for read in reads[:3]
    ]


def test_evaluating_the_same_entries_again_finds_the_same_and_changes_nothing() -> None:
    log = every_rule()
    memory = RuleMemory()
    first = findings_by_entry(memory, log)
    remembered = copy.deepcopy(memory)
    saved = parts(memory)

    again = findings_by_entry(memory, log)

    assert again == first
    assert memory == remembered
    assert parts(memory) == saved


def test_entries_read_again_after_later_ones_find_what_they_found_the_first_time() -> None:
    """A restart between saving the parts and the position reads entries again on a memory
    that holds them and those after: each finds what it found in order."""
    log = every_rule()
    memory = RuleMemory()
    first = findings_by_entry(memory, log)

    for start in range(len(log.entries)):
        ahead = copy.deepcopy(memory)
        assert findings_by_entry(ahead, log, start) == first[start:], start
        assert ahead == memory


@pytest.mark.parametrize(
    ("rule", "index"),
    [
        (Rule.BULK_READS, 3),
        (Rule.SELF_DEALING, 6),
        (Rule.ILLEGAL_FEE, 8),
        (Rule.REPEATED_SEND_BACKS, 12),
        (Rule.QUEUE_JUMP, 19),
    ],
)
def test_each_finding_shows_what_the_entries_up_to_its_own_showed(rule: Rule, index: int) -> None:
    log = every_rule()
    memory = RuleMemory()
    findings = findings_by_entry(memory, log)
    again = findings_by_entry(memory, log)

    [finding] = [f for f in findings[index] if f.rule is rule]

    expected = {
        Rule.BULK_READS: ((0, 1, 3), ("verifier-1",), "KANTOR_DINAS"),
        Rule.SELF_DEALING: ((6,), ("verifier-1",), "KANTOR_DINAS"),
        Rule.ILLEGAL_FEE: ((7, 8), ("verifier-2",), None),
        Rule.REPEATED_SEND_BACKS: ((10, 11, 12), ("verifier-2", "verifier-3"), "KANTOR_DINAS"),
        Rule.QUEUE_JUMP: ((19,), ("verifier-4",), "KANTOR_DINAS"),
    }
    assert (finding.evidence, finding.officers, finding.service_point) == expected[rule]
    assert again[index] == findings[index]


def test_the_memory_once_saved_in_one_document_loads_with_every_part_to_write() -> None:
    old = {
        "requests": {
            "req-1": {
                "last_seen": MONDAY_0830_WIB.isoformat(),
                "service_point": "KANTOR_DINAS",
                "applicant_nik": pseudonym(VALID_NIK, KEY),
                "applicant_family_card": None,
                "assigned": ["verifier-2"],
                "touched": {"verifier-2": 4},
                "send_backs": [5],
                "sent_back_by": ["verifier-2"],
                "self_dealing": [],
            }
        },
        "unassigned_reads": {
            "verifier-1 2025-03-03": {"last_seen": MONDAY_0830_WIB.isoformat(), "indexes": [2]}
        },
        "breaches": {},
    }

    memory = RuleMemory.from_json(json.dumps(old))

    assert sorted(memory.take_changes().written) == [
        "requests/req-1",
        "unassigned_reads/verifier-1 2025-03-03",
    ]
    request = memory.requests["req-1"]
    assert (request.assigned, request.sent_back_by) == ({"verifier-2": -1}, {"verifier-2": -1})
    log = Log()
    for n in range(9):
        log.add(viewed("req-1" if n < 8 else "req-5", officer("verifier-2")))
    log.add(claimed("req-1", officer()))
    assert [f.rule for entry in log.entries for f in evaluate(memory, entry, CONTEXT)] == [
        Rule.SELF_DEALING
    ]


class CrashBeforeMoving(FakeProgress):
    """Saves a batch's parts, then dies before moving the position, at its `crash_at`-th save."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.crash_at = crash_at

    async def save(self, position: int, changes: MemoryChanges, *, previous: int) -> bool:
        if len(self.saves) + 1 != self.crash_at:
            return await super().save(position, changes, previous=previous)
        await super().save(position, changes, previous=-1)
        raise ConnectionResetError


def engine(entries: FakeLogEntries, progress: FakeProgress, alerts: FakeAlerts) -> IntegrityEngine:
    return IntegrityEngine(
        entries=entries,
        progress=progress,
        alerts=alerts,
        context=CONTEXT,
        clock=FakeClock(MONDAY_0830_WIB),
        batch=4,
    )


@pytest.mark.parametrize("crash_at", [1, 3, 5])
async def test_a_restart_after_saving_parts_but_not_the_position_raises_no_alert_twice(
    crash_at: int,
) -> None:
    entries = FakeLogEntries()
    await entries.append(every_rule().entries)
    await entries.size()
    clean, clean_alerts = FakeProgress(), FakeAlerts()
    await engine(entries, clean, clean_alerts).run()
    crashed, alerts = CrashBeforeMoving(crash_at), FakeAlerts()

    with pytest.raises(ConnectionResetError):
        await engine(entries, crashed, alerts).run()
    assert crashed.position == 4 * (crash_at - 1)
    await engine(entries, crashed, alerts).run()

    assert alerts.by_id == clean_alerts.by_id
    assert sorted(event.subject for event in alerts.outbox) == sorted(
        event.subject for event in clean_alerts.outbox
    )
    assert await crashed.load() == await clean.load()


class TestFakeProgress(EngineProgressContract):
    @pytest.fixture
    def instance(self) -> Instance:
        store = FakeProgress()
        return lambda: store
