"""The letters API on in-memory adapters: the chain of steps, confidentiality, scans, the inbox
and the head of office's overdue view, and refusals with their reasons."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.processing.bootstrap import create_app
from services.processing.config import ProcessingSettings
from services.processing.domain.deadlines import Mark
from services.processing.letters.domain.dispositions import disposition_timers
from services.processing.letters.routes import LettersContext
from shared.config import load_settings
from shared.dependencies import provide
from shared.errors import InvalidConfiguration
from shared.events.models.letters import (
    LetterAccessRefused,
    LetterAnswered,
    LetterDisposed,
    LetterViewed,
)
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.builders import T0
from tests.fakes import FakeClock, FlatCalendar
from tests.fakes_letters import FakeLetterIndex, FakeLetterRepository, FakeLetterScans

UNIT = "KANTOR_DINAS"


class Office:
    def __init__(self) -> None:
        self.repository = FakeLetterRepository()
        self.scans = FakeLetterScans()
        self.index = FakeLetterIndex()
        self.clock = FakeClock(T0)


def who(role: str, subject: str, unit: str = UNIT) -> dict[str, str]:
    return bearer(role, sub=subject, service_point=unit)


CLERK = who("letter_clerk", "clerk-1")
HEAD = who("signer", "kadis")
KABID = who("supervisor", "kabid")
KASI = who("verifier", "kasi", "KECAMATAN_SOOKO")
OUTSIDER = who("operator", "operator-9")
OTHER_CLERK = who("letter_clerk", "clerk-sooko", "KECAMATAN_SOOKO")
OTHER_HEAD = who("signer", "camat-sooko", "KECAMATAN_SOOKO")

LETTER: dict[str, Any] = {
    "sender": "Pengadilan Negeri Mojokerto",
    "reference_number": "W14.U19/55/HK.02/III/2025",
    "letter_date": "2025-02-27",
    "regarding": "Permohonan salinan data a.n. Budi Santoso",
    "classification": "470.1",
    "urgency": "segera",
    "confidentiality": "biasa",
}


@pytest.fixture
def office() -> Office:
    return Office()


@pytest.fixture
async def client(office: Office) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(
            app,
            LettersContext(
                repository=office.repository,
                scans=office.scans,
                index=office.index,
                policy=ProcessingSettings().letter_policy(),
                calendar=FlatCalendar(),
                clock=office.clock,
                due_soon_within=timedelta(hours=8),
                max_scan_bytes=64,
            ),
        )
        yield {}

    app = create_app(ProcessingSettings(), wiring, staff_keys=STAFF_KEYS)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        yield http


async def register(client: httpx.AsyncClient, **changes: Any) -> str:
    response = await client.post("/v1/letters", json=LETTER | changes, headers=CLERK)
    assert response.status_code == 201, response.text
    letter_id: str = response.json()["letter_id"]
    return letter_id


async def step(
    client: httpx.AsyncClient, path: str, caller: dict[str, str], body: Any = None
) -> httpx.Response:
    return await client.post(path, json=body, headers=caller)


async def index_letter(office: Office, letter_id: str) -> None:
    """What the consumer does on the letter's events."""
    loaded = await office.repository.get(letter_id)
    assert loaded is not None
    await office.index.note_open(loaded[0].service_point, letter_id)
    for disposition in loaded[0].dispositions.values():
        await office.index.note_holder(disposition.to.id, letter_id)


async def test_a_letter_goes_down_two_levels_and_is_answered(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client)
    assert letter_id == "2025-00001"
    base = f"/v1/letters/{letter_id}"

    first = await step(
        client,
        f"{base}/dispositions",
        HEAD,
        {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
    )
    assert first.status_code == 200, first.text
    assert (await step(client, f"{base}/dispositions/D1/read", KABID)).status_code == 200
    second = await step(
        client,
        f"{base}/dispositions",
        KABID,
        {
            "to": [{"official": "kasi", "unit": "KECAMATAN_SOOKO"}],
            "instruction": "SIAPKAN_JAWABAN",
            "note": "Siapkan data dalam 1 hari",
            "parent_id": "D1",
        },
    )
    assert second.status_code == 200, second.text
    assert (await step(client, f"{base}/dispositions/D2/read", KASI)).status_code == 200
    followed = await step(
        client, f"{base}/dispositions/D2/follow-up", KASI, {"note": "Data disiapkan"}
    )
    assert followed.status_code == 200
    answered = await step(
        client,
        f"{base}/reply",
        CLERK,
        {"reply_number": "470/123/416-405/2025", "reply_date": "2025-03-04"},
    )

    assert answered.status_code == 200, answered.text
    letter = answered.json()
    assert letter["state"] == "ANSWERED"
    assert [(d["to_official"], d["state"]) for d in letter["dispositions"]] == [
        ("kabid", "disposed"),
        ("kasi", "followed_up"),
    ]
    assert letter["reply"]["reply_number"] == "470/123/416-405/2025"
    again = await step(client, f"{base}/dispositions/D2/close", KASI)
    assert again.status_code == 409
    assert again.json()["error"] == "letter_closed"


async def test_refusals_say_why_in_indonesian(client: httpx.AsyncClient) -> None:
    letter_id = await register(client)
    base = f"/v1/letters/{letter_id}"
    recipient = {"to": [{"official": "kasi", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"}

    not_head = await step(client, f"{base}/dispositions", CLERK, recipient)
    unknown = await step(client, f"{base}/dispositions", HEAD, recipient | {"instruction": "LAIN"})
    too_late = await step(
        client, f"{base}/dispositions", HEAD, recipient | {"due_at": "2026-01-01T00:00:00Z"}
    )
    missing = await client.get("/v1/letters/2025-00099", headers=HEAD)
    no_unit = await client.post("/v1/letters", json=LETTER, headers=bearer("letter_clerk"))

    assert (not_head.status_code, not_head.json()["error"]) == (403, "not_head_of_office")
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_instruction")
    assert (too_late.status_code, too_late.json()["error"]) == (422, "deadline_too_late")
    assert missing.status_code == 404
    assert (no_unit.status_code, no_unit.json()["error"]) == (403, "missing_scope")
    assert "kepala dinas" in not_head.json()["message"]


async def test_a_confidential_letter_refuses_readers_off_its_chain_and_records_both(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client, confidentiality="rahasia")
    await step(
        client,
        f"/v1/letters/{letter_id}/dispositions",
        HEAD,
        {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
    )
    office.repository.outbox.clear()

    on_chain = await client.get(f"/v1/letters/{letter_id}", headers=KABID)
    refused = await client.get(f"/v1/letters/{letter_id}", headers=OUTSIDER)
    scan = await client.get(f"/v1/letters/{letter_id}/scan", headers=OUTSIDER)

    assert on_chain.status_code == 200
    assert on_chain.json()["regarding"] == LETTER["regarding"]
    assert (refused.status_code, refused.json()["error"]) == (403, "confidential")
    assert scan.status_code == 403
    assert [(event.type, event.data["actor"]["id"]) for event in office.repository.outbox] == [
        (LetterViewed.event_type, "kabid"),
        (LetterAccessRefused.event_type, "operator-9"),
        (LetterAccessRefused.event_type, "operator-9"),
    ]


async def test_a_disposition_is_withdrawn_while_unread_and_a_stale_write_loses(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client)
    base = f"/v1/letters/{letter_id}"
    body = {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"}
    await step(client, f"{base}/dispositions", HEAD, body)

    by_other = await step(client, f"{base}/dispositions/D1/withdraw", KABID)
    withdrawn = await step(client, f"{base}/dispositions/D1/withdraw", HEAD)
    assert (by_other.status_code, by_other.json()["error"]) == (403, "not_disposer")
    assert withdrawn.json()["dispositions"][0]["state"] == "withdrawn"

    loaded = await office.repository.get(letter_id)
    assert loaded is not None
    letter, revision = loaded
    await step(client, f"{base}/dispositions", HEAD, body)
    assert not await office.repository.save(letter, revision=revision, outbox=[])


async def test_the_scan_is_a_sniffed_size_limited_pdf_from_its_clerk(
    client: httpx.AsyncClient,
) -> None:
    letter_id = await register(client)
    path = f"/v1/letters/{letter_id}/scan"

    stored = await client.put(path, content=b"%PDF-1.7 surat", headers=CLERK)
    png = await client.put(path, content=b"\x89PNG\r\n\x1a\n....", headers=CLERK)
    large = await client.put(path, content=b"%PDF-" + b"x" * 100, headers=CLERK)
    other = await client.put(path, content=b"%PDF-1.7", headers=who("letter_clerk", "clerk-2"))
    head_clerk = bearer("signer", sub="kadis", service_point=UNIT, roles=["signer", "letter_clerk"])
    head = await client.put(path, content=b"%PDF-1.7", headers=head_clerk)
    read = await client.get(path, headers=HEAD)

    assert stored.status_code == 200, stored.text
    assert stored.json()["has_scan"] is True
    assert png.status_code == 415
    assert large.status_code == 413
    assert (other.status_code, other.json()["error"]) == (403, "not_on_letter")
    assert (head.status_code, head.json()["error"]) == (403, "not_registrar")
    assert (read.status_code, read.content) == (200, b"%PDF-1.7 surat")
    assert read.headers["content-type"] == "application/pdf"


async def test_a_scan_is_stored_as_it_arrives_and_one_over_the_limit_leaves_nothing(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client)
    path = f"/v1/letters/{letter_id}/scan"
    stored_meanwhile: list[bytes] = []

    async def body(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part
            stored_meanwhile.append(b"".join(office.scans.contents.values()))

    too_large = await client.put(
        path, content=body(b"%PDF-1.7 ", b"x" * 30, b"y" * 30), headers=CLERK
    )
    nothing_kept = (dict(office.scans.contents), dict(office.scans.scans))
    stored_meanwhile.clear()
    stored = await client.put(path, content=body(b"%PDF-1.7 ", b"surat"), headers=CLERK)
    read = await client.get(path, headers=CLERK)

    assert (too_large.status_code, too_large.json()["error"]) == (413, "scan_too_large")
    assert nothing_kept == ({}, {})
    assert stored.status_code == 200, stored.text
    assert stored_meanwhile[0] == b"%PDF-1.7 ", "the first part is stored before the rest came"
    assert (read.status_code, read.content) == (200, b"%PDF-1.7 surat")
    assert read.headers["content-length"] == str(len(b"%PDF-1.7 surat"))


async def test_a_new_scan_replaces_the_old_one_which_is_removed(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client)
    path = f"/v1/letters/{letter_id}/scan"

    first = await client.put(path, content=b"%PDF-1.7 pertama", headers=CLERK)
    second = await client.put(path, content=b"%PDF-1.7 kedua", headers=CLERK)
    read = await client.get(path, headers=CLERK)

    assert (first.status_code, second.status_code) == (200, 200)
    assert list(office.scans.contents.values()) == [b"%PDF-1.7 kedua"]
    assert read.content == b"%PDF-1.7 kedua"


@pytest.mark.parametrize(
    ("value", "accepted"), [(50 * 1024 * 1024, True), (50 * 1024 * 1024 + 1, False)]
)
def test_the_largest_scan_setting_is_bounded_at_start(
    value: int, accepted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCESSING_MAX_LETTER_SCAN_BYTES", str(value))

    if accepted:
        assert load_settings(ProcessingSettings).max_letter_scan_bytes == value
    else:
        with pytest.raises(InvalidConfiguration, match=r"^PROCESSING_MAX_LETTER_SCAN_BYTES: "):
            load_settings(ProcessingSettings)


async def test_the_inbox_and_the_overdue_view_group_open_dispositions(
    client: httpx.AsyncClient, office: Office
) -> None:
    ids = [await register(client) for _ in range(3)]
    for number, letter_id in enumerate(ids):
        await step(
            client,
            f"/v1/letters/{letter_id}/dispositions",
            HEAD,
            {
                "to": [{"official": "kabid", "unit": UNIT}],
                "instruction": "TINDAK_LANJUTI",
                "due_at": (T0 + timedelta(hours=4 + 24 * number)).isoformat(),
            },
        )
        await index_letter(office, letter_id)
    await step(client, f"/v1/letters/{ids[1]}/dispositions/D1/read", KABID)
    await step(
        client,
        f"/v1/letters/{ids[2]}/close",
        HEAD,
        {"reason": "Cukup untuk diketahui"},
    )
    office.clock.advance(timedelta(hours=20))

    inbox = (await client.get("/v1/letters/inbox", headers=KABID)).json()
    late = await client.get("/v1/letters/overdue", headers=HEAD)
    refused = await client.get("/v1/letters/overdue", headers=who("verifier", "kasi"))

    assert [item["letter_id"] for item in inbox["unread"]] == [ids[0]]
    assert [item["letter_id"] for item in inbox["to_follow_up"]] == [ids[1]]
    assert [item["letter_id"] for item in inbox["overdue"]] == [ids[0]]
    assert [item["letter_id"] for item in inbox["due_soon"]] == [ids[1]]
    assert await office.index.held_by("kabid") == ids[:2]
    assert late.status_code == 200
    assert late.json()["by_official"] == [
        {"key": "kabid", "count": 1, "dispositions": inbox["overdue"]}
    ]
    assert [group["key"] for group in late.json()["by_unit"]] == [UNIT]
    assert refused.status_code == 403


def outbox(office: Office) -> list[tuple[str, str]]:
    return [(event.type, event.data["actor"]["id"]) for event in office.repository.outbox]


async def test_a_clerk_of_another_unit_neither_reads_nor_answers_nor_closes_a_secret_letter(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client, confidentiality="rahasia")
    base = f"/v1/letters/{letter_id}"
    await step(
        client,
        f"{base}/dispositions",
        HEAD,
        {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
    )
    office.repository.outbox.clear()

    read = await client.get(base, headers=OTHER_CLERK)
    reply = await step(
        client, f"{base}/reply", OTHER_CLERK, {"reply_number": "1/2025", "reply_date": "2025-03-04"}
    )
    follow_up = await step(client, f"{base}/dispositions/D1/follow-up", OTHER_CLERK, {"note": "x"})
    scan = await client.put(f"{base}/scan", content=b"%PDF-1.7", headers=OTHER_CLERK)
    close = await step(client, f"{base}/close", OTHER_CLERK, {"reason": "Tidak perlu"})

    assert (read.status_code, read.json()["error"]) == (403, "confidential")
    for refused in (reply, follow_up, scan):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "not_on_letter"
        assert "Budi" not in refused.text
    assert close.status_code == 403
    assert outbox(office) == [(LetterAccessRefused.event_type, "clerk-sooko")] * 4
    loaded = await office.repository.get(letter_id)
    assert loaded is not None
    letter = loaded[0]
    assert (letter.is_open, letter.reply) == (True, None)
    [escalation] = [
        timer
        for timer in disposition_timers(
            letter_id,
            letter.dispositions["D1"],
            FlatCalendar(),
            ProcessingSettings().letter_policy(),
        )
        if timer.mark is Mark.ESCALATION
    ]
    assert letter.mark_deadline(escalation, now=escalation.fire_at)


async def test_the_clerk_and_the_head_of_office_still_act_and_each_answer_is_a_recorded_read(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client, confidentiality="terbatas")
    base = f"/v1/letters/{letter_id}"
    office.repository.outbox.clear()

    disposed = await step(
        client,
        f"{base}/dispositions",
        HEAD,
        {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
    )
    answered = await step(
        client, f"{base}/reply", CLERK, {"reply_number": "1/2025", "reply_date": "2025-03-04"}
    )

    assert disposed.status_code == 200, disposed.text
    assert (answered.status_code, answered.json()["state"]) == (200, "ANSWERED")
    assert answered.json()["regarding"] == LETTER["regarding"]
    assert outbox(office) == [
        (LetterDisposed.event_type, "kadis"),
        (LetterViewed.event_type, "kadis"),
        (LetterAnswered.event_type, "clerk-1"),
        (LetterViewed.event_type, "clerk-1"),
    ]


async def test_a_signer_of_another_unit_is_not_the_head_of_the_letters_office(
    client: httpx.AsyncClient, office: Office
) -> None:
    letter_id = await register(client, confidentiality="rahasia")
    base = f"/v1/letters/{letter_id}"
    office.repository.outbox.clear()

    read = await client.get(base, headers=OTHER_HEAD)
    disposed = await step(
        client,
        f"{base}/dispositions",
        OTHER_HEAD,
        {"to": [{"official": "kabid", "unit": UNIT}], "instruction": "TINDAK_LANJUTI"},
    )
    closed = await step(client, f"{base}/close", OTHER_HEAD, {"reason": "Tidak perlu"})

    assert read.status_code == 403, read.text
    assert read.json()["error"] == "confidential"
    assert (disposed.status_code, disposed.json()["error"]) == (403, "not_on_letter")
    assert (closed.status_code, closed.json()["error"]) == (403, "not_on_letter")
    assert outbox(office) == [(LetterAccessRefused.event_type, "camat-sooko")] * 3
    loaded = await office.repository.get(letter_id)
    assert loaded is not None
    assert loaded[0].is_open


async def test_the_overdue_view_withholds_a_confidential_letters_notes(
    client: httpx.AsyncClient, office: Office
) -> None:
    ids = [await register(client, confidentiality=kind) for kind in ("rahasia", "biasa")]
    for letter_id in ids:
        await step(
            client,
            f"/v1/letters/{letter_id}/dispositions",
            HEAD,
            {
                "to": [{"official": "kabid", "unit": UNIT}],
                "instruction": "TINDAK_LANJUTI",
                "note": "Hubungi Budi Santoso di Sooko",
                "due_at": (T0 + timedelta(hours=4)).isoformat(),
            },
        )
        await index_letter(office, letter_id)
    office.clock.advance(timedelta(hours=20))

    late = await client.get("/v1/letters/overdue", headers=who("supervisor", "kabid-capil"))

    assert late.status_code == 200, late.text
    listed = [
        item
        for group in late.json()["by_unit"] + late.json()["by_official"]
        for item in group["dispositions"]
    ]
    secrets = [item for item in listed if item["letter_id"] == ids[0]]
    ordinary = next(item for item in listed if item["letter_id"] == ids[1])
    assert len(secrets) == 2
    assert [item["disposition"]["note"] for item in secrets] == [None, None]
    assert all(item["notes_withheld"] for item in secrets)
    secret = secrets[0]
    assert (secret["agenda_number"], secret["confidentiality"]) == (1, "rahasia")
    assert (secret["disposition"]["to_official"], secret["disposition"]["due_at"]) == (
        "kabid",
        ordinary["disposition"]["due_at"],
    )
    assert ordinary["notes_withheld"] is False
    assert ordinary["disposition"]["note"] == "Hubungi Budi Santoso di Sooko"
