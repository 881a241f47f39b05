"""The integrity engine on the real log store (FerretDB): a generated month of an office's work,
recorded through audit's recorder, with one planted violation of each rule. Every planted
violation is alerted, nothing else is, and running again (a restart, or a second instance that
lost its progress) raises nothing twice."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import bson
from pymongo.asynchronous.database import AsyncDatabase

from services.audit.adapters.mongo_alerts import MongoAlerts
from services.audit.adapters.mongo_log import MongoLogEntries
from services.audit.adapters.mongo_rule_memory import MongoEngineProgress
from services.audit.domain.alerts import Alert, AlertOrder, Severity, order_key
from services.audit.domain.integrity.context import Context, StaffIdentity, Thresholds
from services.audit.domain.integrity.findings import Rule
from services.audit.domain.pseudonym import pseudonym
from services.audit.service_layer.integrity import IntegrityEngine
from services.audit.service_layer.log import AuditRecorder
from shared.calendar import JAKARTA, WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, Event
from shared.events.models.cases import (
    CaseApproved,
    CaseClaimed,
    CaseCompleted,
    CaseOpened,
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
from shared.events.models.complaints import ComplaintCategory, ComplaintFiled
from shared.events.models.letters import DispositionEscalated
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.messagebus import Received
from shared.mongo import Document
from tests.builders import cipher
from tests.fakes import FakeClock

KEY = b"integrity-month-key"
SYSTEM = Actor.system("processing")
CITIZEN = Actor(kind=ActorKind.CITIZEN, id="citizen", channel=Channel.API)
VERIFIERS = ["verifier-1", "verifier-2", "verifier-3", "verifier-4"]
STAFF_NIKS = {
    name: (f"3516{number:012d}", f"3516{number + 500:012d}")
    for number, name in enumerate([*VERIFIERS, "signer-1", "supervisor-1"], start=1)
}
CALENDAR = WorkingCalendar()


def staff(name: str, role: str = "verifier") -> Actor:
    return Actor(
        kind=ActorKind.STAFF, id=name, role=role, service_point="KANTOR_DINAS", channel=Channel.API
    )


@dataclass
class Month:
    """The events of one month in log order, and the alerts planted in them."""

    events: list[tuple[Event, datetime]] = field(default_factory=list)
    planted: set[tuple[Rule, int]] = field(default_factory=set)
    serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    fee_officers: tuple[str, ...] = ()
    """Who touched the request of the planted illegal-fee complaint."""

    def add(self, event: Event, at: datetime, plant: Rule | None = None) -> int:
        self.events.append((event, at))
        if plant is not None:
            self.planted.add((plant, len(self.events) - 1))
        return len(self.events) - 1

    def request(
        self,
        at: datetime,
        *,
        nik: str | None = None,
        family_card: str | None = None,
    ) -> str:
        number = next(self.serial)
        request_id = str(uuid.UUID(int=number))
        self.add(
            RequestSubmitted(
                actor=CITIZEN,
                request_id=request_id,
                service_code="KK_UBAH",
                tracking_number=f"T{number:07d}",
                applicant=Applicant(
                    nik=nik or f"3516095{number:09d}",
                    name=f"Warga {number}",
                    phone=f"+62812{number:08d}",
                    preferred_channel=NotificationChannel.WHATSAPP,
                ),
                form={
                    "family_card_number": family_card or f"3516098{number:09d}",
                    "change": "Tambah anak",
                },
                submitted_at=at,
                deadline_working_days=1,
                expected_at=CALENDAR.due_at(at, 1),
            ),
            at,
        )
        self.add(
            CaseOpened(
                actor=SYSTEM,
                request_id=request_id,
                service_code="KK_UBAH",
                state="SUBMITTED",
                opened_at=at,
                due_at=CALENDAR.due_at(at, 1),
                service_point="KANTOR_DINAS",
                applicant_name=f"Warga {number}",
                contact_phone=None,
                contact_channel=NotificationChannel.WHATSAPP,
            ),
            at,
        )
        return request_id

    def work(
        self,
        request_id: str,
        verifier: str,
        at: datetime,
        *,
        send_backs: int = 0,
        out_of_order: str | None = None,
        plant_claim: Rule | None = None,
        plant_send_back: int | None = None,
    ) -> list[int]:
        """A case's clean path from claim to completion; returns the indexes of its steps."""
        officer, steps = staff(verifier), []
        minute = timedelta(minutes=3)
        steps.append(
            self.add(
                CaseClaimed(
                    actor=officer,
                    request_id=request_id,
                    state="IN_VERIFICATION",
                    at=at,
                    stage=CaseStage.VERIFICATION,
                    out_of_order=out_of_order is not None,
                    reason_code=out_of_order,
                ),
                at,
                plant_claim,
            )
        )
        at += minute
        steps.append(self.add(case(CaseViewed, officer, request_id, at), at))
        for back in range(1, send_backs + 1):
            at += minute
            plant = Rule.REPEATED_SEND_BACKS if back == plant_send_back else None
            steps.append(
                self.add(
                    RevisionRequested(
                        actor=officer,
                        request_id=request_id,
                        state="NEEDS_REVISION",
                        at=at,
                        items=["Foto KK buram"],
                    ),
                    at,
                    plant,
                )
            )
            at += minute
            self.add(
                CaseResubmitted(
                    actor=CITIZEN,
                    request_id=request_id,
                    state="IN_VERIFICATION",
                    at=at,
                    due_at=CALENDAR.due_at(at, 1),
                ),
                at,
            )
        at += minute
        steps.append(self.add(case(CaseVerified, officer, request_id, at), at))
        signer = staff("signer-1", "signer")
        at += minute
        steps.append(self.add(case(CaseApproved, signer, request_id, at), at))
        at += minute
        self.add(
            DocumentIssued(
                actor=signer,
                request_id=request_id,
                state="ISSUED",
                at=at,
                document_number=f"3516-KK-{request_id[-6:]}",
                collection=CollectionMethod.PRINT_AT_HOME,
            ),
            at,
        )
        at += minute
        self.add(
            CaseCompleted(
                actor=SYSTEM, request_id=request_id, state="COMPLETED", at=at, on_time=True
            ),
            at,
        )
        return steps


def case(
    kind: type[CaseViewed | CaseVerified | CaseApproved],
    actor: Actor,
    request_id: str,
    at: datetime,
) -> Event:
    return kind(actor=actor, request_id=request_id, state="IN_VERIFICATION", at=at)


def wib(day: date, hour: int, minute: int = 0) -> datetime:
    start = datetime.combine(day, time(hour), JAKARTA) + timedelta(minutes=minute)
    return start.astimezone(UTC)


def breach(request_id: str, holder: str, at: datetime) -> Event:
    return DeadlineBreached(
        actor=SYSTEM,
        request_id=request_id,
        state="IN_VERIFICATION",
        at=at,
        due_at=at,
        holder=holder,
        service_point="KANTOR_DINAS",
    )


def generate() -> Month:
    """March 2025 at one office: about ten requests a working day, each worked in office time
    by a verifier and the signer, some sent back once or twice, supervisors reading a few
    cases, the system warning at night; and one violation of each rule."""
    rng = random.Random(2025)
    month = Month()
    days = [date(2025, 3, d) for d in range(1, 32) if CALENDAR.is_working_day(date(2025, 3, d))]
    worked: list[tuple[str, str]] = []
    for number, day in enumerate(days):
        for slot in range(10):
            at = wib(day, 8, 5 + slot * 20)
            request_id = month.request(at)
            verifier = rng.choice(VERIFIERS)
            month.work(request_id, verifier, at + timedelta(minutes=2), send_backs=slot % 3)
            worked.append((request_id, verifier))
        if number == 2:
            plant_violations(month, day, worked)
        for read in range(5):
            request_id, _ = worked[-1 - read]
            at = wib(day, 14, read)
            month.add(case(CaseViewed, staff("supervisor-1", "supervisor"), request_id, at), at)
        night = wib(day, 22)
        month.add(
            DeadlineWarning(
                actor=SYSTEM,
                request_id=worked[-1][0],
                state="IN_VERIFICATION",
                at=night,
                percent=50,
                due_at=night,
                holder=None,
            ),
            night,
        )
    funeral = month.request(wib(days[5], 15, 10))
    month.work(funeral, "verifier-2", wib(days[5], 15, 12), out_of_order="FUNERAL")
    month.add(
        ComplaintFiled(
            actor=CITIZEN,
            complaint_id="complaint-rude",
            complaint_number="ADU-0002",
            category=ComplaintCategory.RUDENESS,
            description="Petugas tidak ramah",
            request_id=worked[3][0],
            anonymous=True,
            filed_at=wib(days[6], 10),
        ),
        wib(days[6], 10),
    )
    return month


def plant_violations(month: Month, day: date, worked: list[tuple[str, str]]) -> None:
    jumped = month.request(wib(day, 15, 0))
    month.work(
        jumped, "verifier-1", wib(day, 15, 1), out_of_order="KENALAN", plant_claim=Rule.QUEUE_JUMP
    )

    own_nik, _ = STAFF_NIKS["verifier-2"]
    own = month.request(wib(day, 15, 20), nik=own_nik)
    month.work(own, "verifier-2", wib(day, 15, 21), plant_claim=Rule.SELF_DEALING)
    _, family_card = STAFF_NIKS["verifier-4"]
    family = month.request(wib(day, 15, 30), family_card=family_card)
    month.work(family, "verifier-4", wib(day, 15, 31), plant_claim=Rule.SELF_DEALING)

    late = wib(day, 21, 15)
    month.add(case(CaseViewed, staff("verifier-3"), worked[-1][0], late), late, Rule.OFF_HOURS)

    nosy = staff("supervisor-1", "supervisor")
    for read in range(20):
        at = wib(day, 9, read)
        month.add(
            case(CaseViewed, nosy, worked[-30 + read][0], at),
            at,
            Rule.BULK_READS if read == 19 else None,
        )

    pressured = month.request(wib(day, 13, 0))
    month.work(pressured, "verifier-3", wib(day, 13, 1), send_backs=3, plant_send_back=3)

    for offset, (request_id, _) in enumerate(worked[:3]):
        at = wib(day, 11, offset)
        month.add(
            breach(request_id, "verifier-4", at),
            at,
            Rule.DEADLINE_BREACH,
        )
        if offset == 2:
            month.planted.add((Rule.BREACH_PATTERN, len(month.events) - 1))
    escalated_at = wib(day, 11, 30)
    month.add(
        DispositionEscalated(
            actor=SYSTEM,
            letter_id="2025-00007",
            state="DISPOSED",
            at=escalated_at,
            disposition_id="D1",
            holder="kabid-1",
            holder_unit="BIDANG_PIAK",
            escalated_to="kadis-1",
            due_at=escalated_at,
        ),
        escalated_at,
        Rule.DEADLINE_BREACH,
    )

    fee_request, fee_verifier = worked[5]
    month.add(
        ComplaintFiled(
            actor=CITIZEN,
            complaint_id="complaint-fee",
            complaint_number="ADU-0001",
            category=ComplaintCategory.ILLEGAL_FEE,
            description="Diminta Rp150.000 agar cepat",
            request_id=fee_request,
            anonymous=False,
            phone="+6281200000001",
            filed_at=wib(day, 12),
        ),
        wib(day, 12),
        Rule.ILLEGAL_FEE,
    )
    month.fee_officers = (fee_verifier, "signer-1", "supervisor-1")


async def record(db: AsyncDatabase[Document], month: Month) -> None:
    clock = FakeClock(datetime(2025, 4, 1, tzinfo=UTC))
    recorder = AuditRecorder(log=MongoLogEntries(db["entries"]), pseudonym_key=KEY, clock=clock)
    for start in range(0, len(month.events), 200):
        chunk = month.events[start : start + 200]
        await asyncio.gather(
            *(
                recorder.record(
                    Received(
                        data=event, event_id=str(uuid.uuid4()), source="/test", time=at, now=at
                    )
                )
                for event, at in chunk
            )
        )


async def run_engine(db: AsyncDatabase[Document], progress: str) -> int:
    """Runs the engine of a fresh audit process, which first looks up where the log ends."""
    log = MongoLogEntries(db["entries"])
    await log.size()
    directory = {
        name: StaffIdentity(nik=pseudonym(nik, KEY), family_card=pseudonym(card, KEY))
        for name, (nik, card) in STAFF_NIKS.items()
    }
    engine = IntegrityEngine(
        entries=log,
        progress=MongoEngineProgress(db[progress]),
        alerts=MongoAlerts(db["integrity_alerts"], cipher()),
        context=Context(thresholds=Thresholds(), calendar=CALENDAR, staff=directory),
        clock=FakeClock(datetime(2025, 4, 1, 1, tzinfo=UTC)),
        batch=500,
    )
    return await engine.run()


async def all_alerts(db: AsyncDatabase[Document]) -> list[Alert]:
    alerts = MongoAlerts(db["integrity_alerts"], cipher())
    return await alerts.find(
        status=None, rule=None, service_point=None, month=None, offset=0, limit=1000
    )


async def test_a_month_with_planted_violations_raises_exactly_the_planted_alerts(
    mongo_db: AsyncDatabase[Document],
) -> None:
    month = generate()
    await record(mongo_db, month)

    raised = await run_engine(mongo_db, "integrity_engine")

    alerts = await all_alerts(mongo_db)
    assert {(alert.rule, alert.index) for alert in alerts} == month.planted
    assert raised == len(month.planted) == 12
    assert {alert.rule for alert in alerts} == set(Rule)
    by_rule = {alert.rule: alert for alert in alerts}
    assert set(by_rule[Rule.ILLEGAL_FEE].officers) == set(month.fee_officers)
    assert by_rule[Rule.BREACH_PATTERN].officers == ("verifier-4",)
    assert len(by_rule[Rule.BULK_READS].evidence) == 20
    assert len(by_rule[Rule.REPEATED_SEND_BACKS].evidence) == 3
    documents = await mongo_db["integrity_alerts"].find({}, {"outbox": 1}).to_list()
    assert all(len(document["outbox"]) == 1 for document in documents)


async def test_running_again_or_from_a_lost_position_raises_nothing_twice(
    mongo_db: AsyncDatabase[Document],
) -> None:
    month = generate()
    await record(mongo_db, month)
    await run_engine(mongo_db, "integrity_engine")
    first = await all_alerts(mongo_db)

    assert await run_engine(mongo_db, "integrity_engine") == 0
    assert await run_engine(mongo_db, "lost_progress") == 0
    assert await all_alerts(mongo_db) == first
    progress = await mongo_db["integrity_engine"].find_one({"_id": "engine"})
    assert progress is not None
    assert progress["position"] == len(month.events)
    assert "memory" not in progress
    parts = await mongo_db["integrity_engine"].find({"part": {"$exists": True}}).to_list()
    assert len({part["part"] for part in parts}) > 200
    assert max(len(bson.encode(part)) for part in parts) < 2048


async def test_alerts_are_filtered_stepped_once_and_keep_the_note_sealed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    month = generate()
    await record(mongo_db, month)
    await run_engine(mongo_db, "integrity_engine")
    alerts = MongoAlerts(mongo_db["integrity_alerts"], cipher())
    [fee] = await alerts.find(
        status=None, rule=Rule.ILLEGAL_FEE, service_point=None, month="2025-03", offset=0, limit=5
    )
    taken = fee.acknowledge(by="auditor-1", at=datetime(2025, 4, 2, tzinfo=UTC))
    note = "Petugas Budi mengembalikan uang."
    done = taken.resolve(by="auditor-1", at=datetime(2025, 4, 3, tzinfo=UTC), note=note)

    assert await alerts.change(fee, taken, [])
    assert not await alerts.change(fee, taken, [])
    assert await alerts.change(taken, done, [])

    assert await alerts.get(fee.alert_id) == done
    resolved = await alerts.find(
        status=done.status, rule=None, service_point="KANTOR_DINAS", month=None, offset=0, limit=5
    )
    assert [alert.alert_id for alert in resolved] == [fee.alert_id]
    stored = await mongo_db["integrity_alerts"].find_one({"_id": fee.alert_id})
    assert stored is not None
    assert "Budi" not in str(stored)
    assert (
        await alerts.find(
            status=None, rule=None, service_point=None, month="2025-04", offset=0, limit=5
        )
        == []
    )


async def test_the_engine_sorts_and_filters_alerts_by_severity_as_the_rules_say(
    mongo_db: AsyncDatabase[Document],
) -> None:
    await record(mongo_db, generate())
    await run_engine(mongo_db, "integrity_engine")
    alerts = MongoAlerts(mongo_db["integrity_alerts"], cipher())
    everything = await all_alerts(mongo_db)

    async def listed(order: AlertOrder, severity: Severity | None = None) -> list[str]:
        found = await alerts.find(
            status=None,
            rule=None,
            service_point=None,
            month=None,
            offset=0,
            limit=1000,
            severity=severity,
            order=order,
        )
        return [alert.alert_id for alert in found]

    for order in AlertOrder:
        expected = sorted(everything, key=order_key(order))
        assert await listed(order) == [alert.alert_id for alert in expected], order
    high = await listed(AlertOrder.NEWEST, Severity.HIGH)
    assert high
    assert high == [alert.alert_id for alert in everything if alert.severity is Severity.HIGH]
