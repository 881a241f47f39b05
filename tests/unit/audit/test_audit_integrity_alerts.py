"""Integrity alerts beyond the rules: their life (open, acknowledged, resolved), the monthly
summary and its page, the engine following the log across restarts, the staff directory, and the
auditors' API."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from fastapi import FastAPI

from services.audit.adapters.staff_identities_file import (
    InvalidStaffDirectory,
    load_staff_directory,
)
from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.domain.alerts import (
    SEVERITY,
    Alert,
    AlertStatus,
    AlertTransitionRefused,
    summarise,
)
from services.audit.domain.integrity.context import Context, Thresholds
from services.audit.domain.integrity.findings import Finding, Rule
from services.audit.domain.integrity.memory import MemoryChanges, RuleMemory
from services.audit.domain.merkle import verify_inclusion
from services.audit.domain.pseudonym import pseudonym, pseudonymise
from services.audit.entrypoints.api import AuditContext
from services.audit.entrypoints.integrity_api import IntegrityContext
from services.audit.service_layer.integrity import IntegrityEngine
from services.audit.service_layer.tree import Checkpointer
from services.audit.templates.integrity_summary import render_summary
from shared.calendar import WorkingCalendar
from shared.dependencies import provide
from shared.events.models.integrity import IntegrityAlert
from shared.events.models.requests import RequestSubmitted
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import FAMILY_CARD, FORM_FIELDS, VALID_NIK, request_submitted
from tests.contracts.audit import SIGNER
from tests.fakes import FakeClock
from tests.fakes_audit import (
    FakeAlerts,
    FakeCheckpoints,
    FakeLogEntries,
    FakeProgress,
    FakeTreeNodes,
)
from tests.unit.audit.test_audit_integrity_rules import (
    MONDAY_0830_WIB,
    Log,
    claimed,
    officer,
    sent_back,
)

RAISED = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def finding(
    rule: Rule = Rule.QUEUE_JUMP,
    index: int = 7,
    *,
    service_point: str | None = "KANTOR_DINAS",
    occurred_at: datetime = MONDAY_0830_WIB,
) -> Finding:
    return Finding(
        rule=rule,
        index=index,
        occurred_at=occurred_at,
        evidence=(index,),
        officers=("verifier-1",),
        service_point=service_point,
        about="req-1",
        summary="Kasus diambil mendahului antrean tanpa alasan yang sah (alasan: -).",
    )


def test_an_alert_is_acknowledged_then_resolved_and_remembers_who_did() -> None:
    alert = Alert.raised(finding(), at=RAISED)
    taken = alert.acknowledge(by="auditor-1", at=RAISED + timedelta(hours=1))
    done = taken.resolve(by="auditor-2", at=RAISED + timedelta(hours=5), note="  Ditegur.  ")

    assert (alert.status, taken.status, done.status) == (
        AlertStatus.OPEN,
        AlertStatus.ACKNOWLEDGED,
        AlertStatus.RESOLVED,
    )
    assert (done.acknowledged_by, done.resolved_by, done.note) == (
        "auditor-1",
        "auditor-2",
        "Ditegur.",
    )
    assert done.time_to_resolve_s == 5 * 3600
    assert alert.alert_id == "queue_jump-7"


def test_wrong_steps_are_refused() -> None:
    alert = Alert.raised(finding(), at=RAISED)
    taken = alert.acknowledge(by="auditor-1", at=RAISED)
    resolved = alert.resolve(by="auditor-1", at=RAISED, note="Tidak terbukti.")

    with pytest.raises(AlertTransitionRefused):
        taken.acknowledge(by="auditor-1", at=RAISED)
    with pytest.raises(AlertTransitionRefused):
        resolved.resolve(by="auditor-1", at=RAISED, note="lagi")
    with pytest.raises(AlertTransitionRefused):
        resolved.acknowledge(by="auditor-1", at=RAISED)
    with pytest.raises(ValueError, match="note"):
        taken.resolve(by="auditor-1", at=RAISED, note="   ")


def test_the_summary_counts_a_months_alerts_per_service_point() -> None:
    resolved_in = [timedelta(hours=2), timedelta(hours=4), timedelta(hours=9)]
    alerts = [
        Alert.raised(finding(Rule.OFF_HOURS, n), at=RAISED).resolve(
            by="auditor-1", at=RAISED + took, note="Lembur resmi."
        )
        for n, took in enumerate(resolved_in)
    ]
    alerts.append(Alert.raised(finding(Rule.ILLEGAL_FEE, 10), at=RAISED))
    alerts.append(
        Alert.raised(finding(Rule.ILLEGAL_FEE, 11), at=RAISED).acknowledge(by="a", at=RAISED)
    )
    alerts.append(
        Alert.raised(finding(Rule.BULK_READS, 12, service_point="MPP_MOJOSARI"), at=RAISED)
    )
    alerts.append(Alert.raised(finding(Rule.BULK_READS, 13, service_point=None), at=RAISED))
    next_month = MONDAY_0830_WIB + timedelta(days=31)
    alerts.append(Alert.raised(finding(Rule.BULK_READS, 14, occurred_at=next_month), at=RAISED))

    office, mall, unknown = summarise(alerts, month="2025-03")

    assert office.service_point == "KANTOR_DINAS"
    assert office.by_rule[Rule.OFF_HOURS] == 3
    assert office.by_rule[Rule.ILLEGAL_FEE] == 2
    assert office.by_rule[Rule.BULK_READS] == 0
    assert office.total == 5
    assert office.by_status == {
        AlertStatus.OPEN: 1,
        AlertStatus.ACKNOWLEDGED: 1,
        AlertStatus.RESOLVED: 3,
    }
    assert office.median_resolve_s == 4 * 3600
    assert office.max_resolve_s == 9 * 3600
    assert (mall.service_point, mall.total, mall.median_resolve_s) == ("MPP_MOJOSARI", 1, None)
    assert unknown.service_point == "TIDAK_DIKETAHUI"


def test_the_summary_page_is_self_contained_with_a_bar_per_rule() -> None:
    alerts = [Alert.raised(finding(Rule.OFF_HOURS, n), at=RAISED) for n in range(3)]
    alerts.append(Alert.raised(finding(Rule.SELF_DEALING, 9, service_point="<X&Y>"), at=RAISED))

    page = render_summary("2025-03", summarise(alerts, month="2025-03"))

    assert "<h1>Ringkasan Integritas Bulanan</h1>" in page
    assert "Tempat layanan: &lt;X&amp;Y&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page
    assert "<link" not in page
    assert "src=" not in page
    charts = [ElementTree.fromstring(svg + "</svg>") for svg in _svgs(page)]
    assert len(charts) == 2
    widths = {
        rect.find("{http://www.w3.org/2000/svg}title").text: int(rect.get("width", "0"))  # type: ignore[union-attr]
        for rect in charts[1].iter("{http://www.w3.org/2000/svg}rect")
    }
    assert len(widths) == len(Rule)
    assert widths["Tindakan di luar jam layanan: 3"] > widths["Menyerobot antrean: 0"] == 0


def _svgs(page: str) -> list[str]:
    return ["<svg" + part.split("</svg>")[0] for part in page.split("<svg")[1:]]


def test_a_form_is_pseudonymised_value_by_value_so_family_cards_can_be_matched() -> None:
    event = request_submitted(service_code="KK_UBAH").model_copy(
        update={"form": FORM_FIELDS["KK_UBAH"]}
    )

    masked = pseudonymise(RequestSubmitted, event.model_dump(mode="json"), b"key")

    assert masked["form"]["family_card_number"] == pseudonym(FAMILY_CARD, b"key")
    assert set(masked["form"]) == set(FORM_FIELDS["KK_UBAH"])
    assert FAMILY_CARD not in json.dumps(masked)


def test_the_staff_directory_keeps_pseudonyms_only(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    path.write_text(
        json.dumps(
            [
                {"sub": "verifier-1", "nik": VALID_NIK, "family_card_number": FAMILY_CARD},
                {"sub": "verifier-2", "nik": "3516095005500002"},
            ]
        )
    )

    staff = load_staff_directory(path, key=b"key")

    assert staff["verifier-1"].nik == pseudonym(VALID_NIK, b"key")
    assert staff["verifier-1"].family_card == pseudonym(FAMILY_CARD, b"key")
    assert staff["verifier-2"].family_card is None
    assert VALID_NIK not in repr(staff)


def test_a_broken_staff_directory_stops_start_up_without_showing_numbers(tmp_path: Path) -> None:
    path = tmp_path / "staff.json"
    path.write_text(json.dumps([{"sub": "verifier-1", "nik": "35160912048"}]))

    with pytest.raises(InvalidStaffDirectory) as refused:
        load_staff_directory(path, key=b"key")

    assert "0.nik" in str(refused.value)
    assert "35160912048" not in str(refused.value)


def test_audit_refuses_to_start_on_a_broken_staff_directory(tmp_path: Path) -> None:
    """Refused while the app is made, so the process exits with its configuration status (78)
    rather than failing later, at start-up of the server."""
    path = tmp_path / "staff.json"
    path.write_text("[{")
    settings = AuditSettings(staff_directory=path, local_secrets_dir=tmp_path / "secrets")

    with pytest.raises(InvalidStaffDirectory):
        create_app(settings)


CONTEXT = Context(thresholds=Thresholds(), calendar=WorkingCalendar(), staff={})


def engine(
    entries: FakeLogEntries, progress: FakeProgress, alerts: FakeAlerts, *, batch: int = 500
) -> IntegrityEngine:
    return IntegrityEngine(
        entries=entries,
        progress=progress,
        alerts=alerts,
        context=CONTEXT,
        clock=FakeClock(RAISED),
        batch=batch,
    )


async def logged(log: Log) -> FakeLogEntries:
    entries = FakeLogEntries()
    await entries.append(log.entries)
    return entries


async def test_the_engine_raises_each_alert_once_with_its_event_and_remembers_where_it_is() -> None:
    log = Log()
    log.add(claimed("req-1", officer(), out_of_order=True, reason="TEMAN"))
    for _ in range(3):
        log.add(sent_back("req-2", officer()))
    entries, progress, alerts = await logged(log), FakeProgress(), FakeAlerts()

    assert await engine(entries, progress, alerts, batch=2).run() == 2
    assert await engine(entries, progress, alerts).run() == 0

    assert sorted(alerts.by_id) == ["queue_jump-0", "repeated_send_backs-3"]
    assert progress.position == 4
    events = {event.subject: event for event in alerts.outbox}
    assert events["repeated_send_backs-3"].type == IntegrityAlert.event_type
    assert events["repeated_send_backs-3"].data["evidence"] == [1, 2, 3]


async def test_a_restart_after_storing_alerts_but_before_saving_repeats_and_loses_none() -> None:
    log = Log()
    for _ in range(3):
        log.add(sent_back("req-2", officer()))
    log.add(claimed("req-1", officer(), out_of_order=True))
    entries, alerts = await logged(log), FakeAlerts()
    crashed = FakeProgress()

    async def crash(position: int, changes: MemoryChanges, *, previous: int) -> bool:
        raise ConnectionResetError

    crashed.save = crash  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError):
        await engine(entries, crashed, alerts).run()
    crashed_alerts = copy.deepcopy(alerts.by_id)
    restarted = FakeProgress()

    assert await engine(entries, restarted, alerts).run() == 0
    assert alerts.by_id == crashed_alerts
    assert sorted(alerts.by_id) == ["queue_jump-3", "repeated_send_backs-2"]
    assert len(alerts.outbox) == 2


class CountedLoads(FakeProgress):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self) -> tuple[int, RuleMemory]:
        self.loads += 1
        return await super().load()


async def test_the_instance_that_lost_a_save_stands_aside_then_takes_over_if_left_alone() -> None:
    log = Log()
    for _ in range(3):
        log.add(sent_back("req-2", officer()))
    entries, progress, alerts = await logged(log), CountedLoads(), FakeAlerts()
    clock = FakeClock(RAISED)

    def instance() -> IntegrityEngine:
        return IntegrityEngine(
            entries=entries, progress=progress, alerts=alerts, context=CONTEXT, clock=clock
        )

    async def more(request_id: str) -> None:
        log.add(claimed(request_id, officer(), out_of_order=True))
        await entries.append(log.entries[-1:])

    first, second = instance(), instance()
    await first.run()
    await more("req-1")
    await second.run()
    await first.run()  # its save names position 3, which the second moved on: lost
    await more("req-3")
    loads = progress.loads

    assert await first.run() == 0
    assert (progress.loads, progress.position) == (loads, 4)

    clock.advance(timedelta(seconds=30))
    assert await first.run() == 1
    assert (progress.loads, progress.position) == (loads + 1, 5)
    assert sorted(alerts.by_id) == ["queue_jump-3", "queue_jump-4", "repeated_send_backs-2"]


async def test_off_hours_actions_raise_one_alert_per_officer_and_day_with_every_action() -> None:
    saturday = datetime(2025, 3, 8, 3, 0, tzinfo=UTC)
    log = Log()
    for n in range(3):
        log.add(sent_back(f"req-{n}", officer()), saturday + timedelta(minutes=n))
    entries, progress, alerts = await logged(log), FakeProgress(), FakeAlerts()
    assert await engine(entries, progress, alerts, batch=2).run() == 1
    log.add(sent_back("req-9", officer()), saturday + timedelta(hours=2))
    await entries.append(log.entries[3:])

    assert await engine(entries, progress, alerts).run() == 0

    [alert] = [a for a in alerts.by_id.values() if a.rule is Rule.OFF_HOURS]
    assert (alert.alert_id, alert.evidence) == ("off_hours-0", (0, 1, 2, 3))
    assert "4 tindakan" in alert.summary
    assert [event.subject for event in alerts.outbox] == ["off_hours-0"]


async def test_alerts_audit_logs_about_itself_raise_nothing_more() -> None:
    log = Log()
    log.add(claimed("req-1", officer(), out_of_order=True))
    entries, progress, alerts = await logged(log), FakeProgress(), FakeAlerts()
    await engine(entries, progress, alerts).run()
    [event] = alerts.outbox
    night = datetime(2025, 3, 8, 17, 0, tzinfo=UTC)
    log.add(IntegrityAlert.model_validate(event.data), night)
    await entries.append(log.entries[1:])

    assert await engine(entries, progress, alerts).run() == 0
    assert progress.position == 2


@asynccontextmanager
async def integrity_api(
    integrity: IntegrityContext, audit: AuditContext, role: str = "auditor"
) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(app, audit)
        provide(app, integrity)
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://audit.test",
            headers=bearer(role, sub=f"{role}-7"),
        ) as client,
    ):
        yield client


@pytest.fixture
async def world() -> tuple[IntegrityContext, AuditContext, FakeAlerts]:
    """Five entries, the first four signed, and the alerts the engine raised over them."""
    log = Log()
    log.add(claimed("req-1", officer(), out_of_order=True))
    for _ in range(3):
        log.add(sent_back("req-2", officer()))
    entries = await logged(log)
    audit = AuditContext(
        entries=entries, nodes=FakeTreeNodes(), checkpoints=FakeCheckpoints(), signer=SIGNER
    )
    await Checkpointer(
        entries=entries, nodes=audit.nodes, checkpoints=audit.checkpoints, signer=SIGNER
    ).run()
    log.add(claimed("req-3", officer("verifier-2"), out_of_order=True))
    await entries.append(log.entries[4:])
    alerts = FakeAlerts()
    await engine(entries, FakeProgress(), alerts).run()
    integrity = IntegrityContext(
        alerts=alerts,
        nodes=audit.nodes,
        checkpoints=audit.checkpoints,
        clock=FakeClock(RAISED + timedelta(hours=3)),
    )
    return integrity, audit, alerts


World = tuple[IntegrityContext, AuditContext, FakeAlerts]


async def test_auditors_list_alerts_with_filters_and_pages(world: World) -> None:
    async with integrity_api(world[0], world[1]) as client:
        everything = (await client.get("/v1/audit/alerts")).json()
        jumps = (await client.get("/v1/audit/alerts", params={"rule": "QUEUE_JUMP"})).json()
        first = (await client.get("/v1/audit/alerts", params={"limit": 2})).json()
        rest = (await client.get("/v1/audit/alerts", params={"offset": 2, "limit": 2})).json()
        other_month = (await client.get("/v1/audit/alerts", params={"month": "2025-04"})).json()
        bad = await client.get("/v1/audit/alerts", params={"month": "2025-13"})

    assert [a["alert_id"] for a in everything["alerts"]] == [
        "queue_jump-4",
        "repeated_send_backs-3",
        "queue_jump-0",
    ]
    assert [a["alert_id"] for a in jumps["alerts"]] == ["queue_jump-4", "queue_jump-0"]
    assert first["next_offset"] == 2
    assert rest["next_offset"] is None
    assert [a["alert_id"] for a in first["alerts"] + rest["alerts"]] == [
        a["alert_id"] for a in everything["alerts"]
    ]
    assert other_month["alerts"] == []
    assert bad.status_code == 422


async def test_auditors_filter_and_sort_alerts_by_severity_and_rule(world: World) -> None:
    """Weekend overtime must not bury a queue jump: low-severity alerts can be left out or sent
    to the end."""
    async with integrity_api(world[0], world[1]) as client:
        low = (await client.get("/v1/audit/alerts", params={"severity": "LOW"})).json()
        medium = (await client.get("/v1/audit/alerts", params={"severity": "MEDIUM"})).json()
        by_severity = (await client.get("/v1/audit/alerts", params={"sort": "severity"})).json()
        by_rule = (await client.get("/v1/audit/alerts", params={"sort": "rule"})).json()
        bad = await client.get("/v1/audit/alerts", params={"sort": "loudest"})

    assert [a["alert_id"] for a in low["alerts"]] == ["repeated_send_backs-3"]
    assert [a["severity"] for a in medium["alerts"]] == ["MEDIUM", "MEDIUM"]
    assert [a["alert_id"] for a in by_severity["alerts"]] == [
        "queue_jump-4",
        "queue_jump-0",
        "repeated_send_backs-3",
    ]
    assert [a["rule"] for a in by_rule["alerts"]] == [
        "QUEUE_JUMP",
        "QUEUE_JUMP",
        "REPEATED_SEND_BACKS",
    ]
    assert bad.status_code == 422


def test_every_rule_has_a_severity() -> None:
    assert set(SEVERITY) == set(Rule)


async def test_an_alert_comes_with_an_inclusion_proof_for_each_signed_evidence_entry(
    world: World,
) -> None:
    integrity, audit, _ = world
    async with integrity_api(integrity, audit) as client:
        signed = (await client.get("/v1/audit/alerts/repeated_send_backs-3")).json()
        unsigned = (await client.get("/v1/audit/alerts/queue_jump-4")).json()
        missing = await client.get("/v1/audit/alerts/queue_jump-99")

    latest = await audit.checkpoints.latest()
    assert latest is not None
    assert [item["index"] for item in signed["evidence_proofs"]] == [1, 2, 3]
    for item in signed["evidence_proofs"]:
        entry = (await audit.entries.at([item["index"]]))[item["index"]]
        assert base64.b64decode(item["leaf_hash"]) == entry.leaf_hash()
        assert verify_inclusion(
            index=item["index"],
            size=item["tree_size"],
            leaf=entry.leaf_hash(),
            proof=[base64.b64decode(h) for h in item["proof"]],
            root=latest.root_hash,
        )
    assert unsigned["evidence_proofs"] == [
        {"index": 4, "tree_size": None, "leaf_hash": None, "proof": None}
    ]
    assert missing.status_code == 404


async def test_auditors_acknowledge_and_resolve_and_wrong_steps_are_409(world: World) -> None:
    integrity, audit, alerts = world
    async with integrity_api(integrity, audit) as client:
        taken = await client.post("/v1/audit/alerts/queue_jump-0/acknowledge")
        again = await client.post("/v1/audit/alerts/queue_jump-0/acknowledge")
        no_note = await client.post("/v1/audit/alerts/queue_jump-0/resolve", json={"note": "  "})
        done = await client.post(
            "/v1/audit/alerts/queue_jump-0/resolve", json={"note": "Sudah ditegur kepala dinas."}
        )
        twice = await client.post("/v1/audit/alerts/queue_jump-0/resolve", json={"note": "x"})
        unknown = await client.post("/v1/audit/alerts/queue_jump-99/acknowledge")
        resolved = (await client.get("/v1/audit/alerts", params={"status": "RESOLVED"})).json()

    assert taken.status_code == 200
    assert taken.json()["acknowledged_by"] == "auditor-7"
    assert again.status_code == 409
    assert no_note.status_code == 422
    assert done.status_code == 200
    assert done.json()["status"] == "RESOLVED"
    assert done.json()["note"] == "Sudah ditegur kepala dinas."
    assert twice.status_code == 409
    assert unknown.status_code == 404
    assert [a["alert_id"] for a in resolved["alerts"]] == ["queue_jump-0"]
    steps = [event for event in alerts.outbox if event.subject == "queue_jump-0"]
    assert [event.type.split(".")[-2] for event in steps] == [
        "alert_raised",
        "alert_acknowledged",
        "alert_resolved",
    ]
    assert steps[-1].data["actor"]["id"] == "auditor-7"


async def test_the_summary_is_json_or_a_page(world: World) -> None:
    integrity, audit, _ = world
    async with integrity_api(integrity, audit) as client:
        await client.post("/v1/audit/alerts/queue_jump-0/resolve", json={"note": "Selesai."})
        summary = (await client.get("/v1/audit/integrity-summary?month=2025-03")).json()
        asked = await client.get(
            "/v1/audit/integrity-summary?month=2025-03", headers={"Accept": "text/html"}
        )
        page = await client.get("/v1/audit/integrity-summary.html?month=2025-03")

    [office] = summary["service_points"]
    assert office["service_point"] == "KANTOR_DINAS"
    assert office["by_rule"]["QUEUE_JUMP"] == 2
    assert office["by_rule"]["REPEATED_SEND_BACKS"] == 1
    assert office["by_status"] == {"OPEN": 2, "ACKNOWLEDGED": 0, "RESOLVED": 1}
    assert office["median_resolve_s"] == office["max_resolve_s"] == 3 * 3600
    assert asked.headers["content-type"].startswith("text/html")
    assert asked.text == page.text
    assert "Ringkasan Integritas Bulanan" in page.text


@pytest.mark.parametrize("role", ["verifier", "supervisor"])
async def test_only_auditors_see_alerts(world: World, role: str) -> None:
    async with integrity_api(world[0], world[1], role=role) as client:
        listed = await client.get("/v1/audit/alerts")
        resolved = await client.post("/v1/audit/alerts/queue_jump-0/resolve", json={"note": "x"})

    assert (listed.status_code, resolved.status_code) == (403, 403)
