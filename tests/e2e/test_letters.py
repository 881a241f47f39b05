"""Official letters end to end: registered with a scan of several chunks read back whole,
disposed down two levels, followed up and answered; a confidential letter refused to someone off
its chain, the attempt in the audit log; a clerk of another unit can neither read, answer nor
close a secret letter, which escalates all the same."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from devstack.stack import Stack
from shared.events.models.letters import (
    DispositionEscalated,
    DispositionFollowedUp,
    LetterAccessRefused,
    LetterAnswered,
    LetterDisposed,
    LetterRegistered,
)
from tests.e2e.conftest import audit_entries
from tests.polling import eventually

UNIT = "KANTOR_DINAS"
LETTER: dict[str, Any] = {
    "sender": "Polres Mojokerto",
    "reference_number": "B/214/III/2025/Reskrim",
    "letter_date": "2025-03-03",
    "regarding": "Permintaan data kependudukan a.n. Slamet Riyadi",
    "classification": "470",
    "urgency": "segera",
    "confidentiality": "biasa",
}
Tokens = Callable[..., dict[str, str]]


def staff(tokens: Tokens, role: str, subject: str, unit: str = UNIT) -> dict[str, str]:
    return tokens(role, service_point=unit, subject=subject)


async def test_a_letter_is_disposed_two_levels_down_followed_up_and_answered(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    letters = f"{backend.service_url('processing')}/v1/letters"
    clerk = staff(tokens, "letter_clerk", "e2e-clerk")
    head = staff(tokens, "signer", "e2e-kadis")
    kabid = staff(tokens, "supervisor", "e2e-kabid")
    kasi = staff(tokens, "verifier", "e2e-kasi", "KECAMATAN_SOOKO")

    registered = await http.post(letters, json=LETTER, headers=clerk)
    assert registered.status_code == 201, registered.text
    letter_id = registered.json()["letter_id"]
    base = f"{letters}/{letter_id}"
    scanned = b"%PDF-1.7\n% surat\n" + os.urandom(600_000)
    scan = await http.put(f"{base}/scan", content=scanned, headers=clerk)
    assert scan.status_code == 200, scan.text
    read = await http.get(f"{base}/scan", headers=head)
    assert (read.status_code, read.content) == (200, scanned)

    steps: list[tuple[str, dict[str, str], dict[str, Any] | None]] = [
        (
            "dispositions",
            head,
            {"to": [{"official": "e2e-kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
        ),
        ("dispositions/D1/read", kabid, None),
        (
            "dispositions",
            kabid,
            {
                "to": [{"official": "e2e-kasi", "unit": "KECAMATAN_SOOKO"}],
                "instruction": "SIAPKAN_JAWABAN",
                "parent_id": "D1",
            },
        ),
        ("dispositions/D2/read", kasi, None),
        ("dispositions/D2/follow-up", kasi, {"note": "Data sudah disiapkan"}),
        ("reply", clerk, {"reply_number": "470/77/416-405/2025", "reply_date": "2025-03-05"}),
    ]
    for path, caller, body in steps:
        response = await http.post(f"{base}/{path}", json=body, headers=caller)
        assert response.status_code == 200, (path, response.text)
    assert response.json()["state"] == "ANSWERED"

    async def chain_audited() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=letter_id)
        return (
            entries if any(e["event_type"] == LetterAnswered.event_type for e in entries) else None
        )

    entries = await eventually(chain_audited, what="the letter's steps in the audit log")
    assert [(e["event_type"], e["data"]["actor"]["id"]) for e in entries] == [
        (LetterRegistered.event_type, "e2e-clerk"),
        ("id.go.adminduk.letter.scan_attached.v1", "e2e-clerk"),
        (LetterDisposed.event_type, "e2e-kadis"),
        ("id.go.adminduk.letter.disposition_read.v1", "e2e-kabid"),
        (LetterDisposed.event_type, "e2e-kabid"),
        ("id.go.adminduk.letter.disposition_read.v1", "e2e-kasi"),
        (DispositionFollowedUp.event_type, "e2e-kasi"),
        (LetterAnswered.event_type, "e2e-clerk"),
    ]
    assert "Slamet" not in str(entries[0]["data"]["regarding"])

    received = datetime.fromisoformat(registered.json()["received_at"])
    month = received.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m")
    evaluation = await http.get(
        f"{backend.service_url('processing')}/v1/reports/monthly",
        params={"month": month},
        headers=tokens("supervisor", service_point=UNIT),
    )
    assert evaluation.status_code == 200, evaluation.text
    assert evaluation.json()["letters"]["answered"] >= 1


async def test_a_confidential_letter_read_off_its_chain_is_refused_and_audited(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    letters = f"{backend.service_url('processing')}/v1/letters"
    clerk = staff(tokens, "letter_clerk", "e2e-clerk")
    head = staff(tokens, "signer", "e2e-kadis")
    registered = await http.post(
        letters, json=LETTER | {"confidentiality": "rahasia"}, headers=clerk
    )
    assert registered.status_code == 201, registered.text
    letter_id = registered.json()["letter_id"]
    disposed = await http.post(
        f"{letters}/{letter_id}/dispositions",
        json={"to": [{"official": "e2e-kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
        headers=head,
    )
    assert disposed.status_code == 200, disposed.text

    on_chain = await http.get(
        f"{letters}/{letter_id}", headers=staff(tokens, "supervisor", "e2e-kabid")
    )
    refused = await http.get(
        f"{letters}/{letter_id}", headers=staff(tokens, "operator", "e2e-operator")
    )
    assert on_chain.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["error"] == "confidential"

    async def refusal_audited() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=letter_id)
        return [e for e in entries if e["event_type"] == LetterAccessRefused.event_type] or None

    [entry] = await eventually(refusal_audited, what="the refused read in the audit log")
    assert entry["data"]["actor"]["id"] == "e2e-operator"
    assert entry["data"]["confidentiality"] == "rahasia"

    async def in_inbox() -> list[dict[str, Any]] | None:
        response = await http.get(
            f"{letters}/inbox", headers=staff(tokens, "supervisor", "e2e-kabid")
        )
        unread = response.json()["unread"]
        return [item for item in unread if item["letter_id"] == letter_id] or None

    [held] = await eventually(in_inbox, what="the disposition in the holder's inbox")
    assert held["disposition"]["state"] == "sent"


async def test_a_clerk_of_another_unit_cannot_read_answer_or_close_a_secret_letter(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    letters = f"{backend.service_url('processing')}/v1/letters"
    clerk = staff(tokens, "letter_clerk", "e2e-clerk")
    head = staff(tokens, "signer", "e2e-kadis")
    outsider = staff(tokens, "letter_clerk", "e2e-clerk-sooko", "KECAMATAN_SOOKO")
    registered = await http.post(
        letters, json=LETTER | {"confidentiality": "rahasia"}, headers=clerk
    )
    assert registered.status_code == 201, registered.text
    letter_id = registered.json()["letter_id"]
    base = f"{letters}/{letter_id}"
    due_at = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
    disposed = await http.post(
        f"{base}/dispositions",
        json={
            "to": [{"official": "e2e-kabid", "unit": UNIT}],
            "instruction": "TINDAK_LANJUTI",
            "note": "Hubungi Slamet Riyadi",
            "due_at": due_at.isoformat(),
        },
        headers=head,
    )
    assert disposed.status_code == 200, disposed.text

    read = await http.get(base, headers=outsider)
    reply = await http.post(
        f"{base}/reply",
        json={"reply_number": "470/1/416-405/2025", "reply_date": "2025-03-05"},
        headers=outsider,
    )
    follow_up = await http.post(
        f"{base}/dispositions/D1/follow-up", json={"note": "Selesai"}, headers=outsider
    )
    close = await http.post(f"{base}/close", json={"reason": "Tidak perlu"}, headers=outsider)

    assert (read.status_code, read.json()["error"]) == (403, "confidential")
    assert reply.status_code == 403, reply.text
    assert reply.json()["error"] == "not_on_letter"
    assert (follow_up.status_code, follow_up.json()["error"]) == (403, "not_on_letter")
    assert close.status_code == 403
    assert not any("Slamet" in r.text for r in (read, reply, follow_up, close))
    by_head = await http.get(base, headers=head)
    assert by_head.status_code == 200, by_head.text
    assert (by_head.json()["state"], by_head.json()["reply"]) == ("IN_PROGRESS", None)
    assert by_head.json()["dispositions"][0]["state"] == "sent"

    async def escalated() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=letter_id)
        types = {e["event_type"] for e in entries}
        return entries if DispositionEscalated.event_type in types else None

    entries = await eventually(
        escalated, timeout_s=90, what="the disposition's escalation in the audit log"
    )
    refused = [e for e in entries if e["event_type"] == LetterAccessRefused.event_type]
    assert [e["data"]["actor"]["id"] for e in refused] == ["e2e-clerk-sooko"] * 3
    assert {e["data"]["confidentiality"] for e in refused} == {"rahasia"}

    overdue = await http.get(
        f"{letters}/overdue", headers=staff(tokens, "supervisor", "e2e-kabid-umum")
    )
    assert overdue.status_code == 200, overdue.text
    listed = [
        item
        for group in overdue.json()["by_official"]
        for item in group["dispositions"]
        if item["letter_id"] == letter_id
    ]
    assert [(item["disposition"]["note"], item["notes_withheld"]) for item in listed] == [
        (None, True)
    ]
    assert listed[0]["disposition"]["to_official"] == "e2e-kabid"

    answered = await http.post(
        f"{base}/reply",
        json={"reply_number": "470/78/416-405/2025", "reply_date": "2025-03-05"},
        headers=clerk,
    )
    assert (answered.status_code, answered.json()["state"]) == (200, "ANSWERED"), answered.text
