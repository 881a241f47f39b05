from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.domain.checkpoint import open_checkpoint
from services.audit.domain.export import from_line
from services.audit.domain.merkle import verify_consistency, verify_inclusion
from services.audit.domain.note import NoteVerifier
from services.audit.domain.verification import LogVerifier
from services.audit.entrypoints.api import AuditContext
from services.audit.service_layer.tree import Checkpointer
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, bearer
from tests.contracts.audit import SIGNER, log_entries
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes


@asynccontextmanager
async def audit_api(context: AuditContext) -> AsyncIterator[httpx.AsyncClient]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[Mapping[str, ReadinessCheck]]:
        provide(app, context)
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://audit.test", headers=bearer("auditor")
        ) as client,
    ):
        yield client


def empty_log() -> AuditContext:
    return AuditContext(
        entries=FakeLogEntries(),
        nodes=FakeTreeNodes(),
        checkpoints=FakeCheckpoints(),
        signer=SIGNER,
    )


async def signed(context: AuditContext) -> None:
    await Checkpointer(
        entries=context.entries,
        nodes=context.nodes,
        checkpoints=context.checkpoints,
        signer=context.signer,
    ).run()


@pytest.fixture
async def log() -> AuditContext:
    """Four entries, signed at sizes 3 and 4."""
    context = empty_log()
    entries = log_entries("req-1", "req-2", "req-1", "req-3")
    await context.entries.append(entries[:3])
    await signed(context)
    await context.entries.append(entries[3:])
    await signed(context)
    return context


def decoded(value: str) -> bytes:
    return base64.b64decode(value)


async def test_entries_page_through_the_log_in_order(log: AuditContext) -> None:
    async with audit_api(log) as client:
        first = (await client.get("/v1/audit/entries", params={"limit": 3})).json()
        rest = (
            await client.get(
                "/v1/audit/entries",
                params={"limit": 3, "after_sequence": first["next_after_sequence"]},
            )
        ).json()

    assert [entry["sequence"] for entry in first["entries"]] == [1, 2, 3]
    assert [entry["index"] for entry in first["entries"]] == [0, 1, 2]
    assert first["next_after_sequence"] == 3
    assert [entry["sequence"] for entry in rest["entries"]] == [4]
    assert rest["next_after_sequence"] is None
    [stored] = (await log.entries.at([0])).values()
    assert first["entries"][0] == {
        "sequence": 1,
        "index": 0,
        "leaf_hash": base64.b64encode(stored.leaf_hash()).decode(),
        "event_id": "evt-0",
        "event_type": stored.event_type,
        "source": "/adminduk/intake",
        "subject": "req-1",
        "event_time": stored.event_time,
        "recorded_at": stored.recorded_at,
        "data": {"n": 0},
    }


async def test_entries_of_one_subject(log: AuditContext) -> None:
    async with audit_api(log) as client:
        page = (await client.get("/v1/audit/entries", params={"subject": "req-1"})).json()

    assert [entry["sequence"] for entry in page["entries"]] == [1, 3]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"limit": 0}, "query.limit", "Paling kecil 1."),
        ({"limit": 1001}, "query.limit", "Paling besar 1000."),
        ({"limit": "ten"}, "query.limit", "Harus berupa bilangan bulat."),
        ({"after_sequence": -1}, "query.after_sequence", "Paling kecil 0."),
        ({"after_sequence": 2**63}, "query.after_sequence", f"Paling besar {2**63 - 1}."),
        ({"after_sequence": 10**400}, "query.after_sequence", "Paling besar"),
        ({"subject": "req-1\u0000"}, "query.subject", "Formatnya tidak sesuai."),
        ({"subject": ""}, "query.subject", "Terlalu pendek."),
    ],
)
async def test_bad_paging_is_a_422_that_names_the_parameter(
    log: AuditContext, params: dict[str, str | int], field: str, reason: str
) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/entries", params=params)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    [detail] = body["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]


async def test_paging_from_the_largest_sequence_finds_nothing(log: AuditContext) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/entries", params={"after_sequence": 2**63 - 1})

    assert response.status_code == 200
    assert response.json() == {"entries": [], "next_after_sequence": None}


async def test_the_latest_checkpoint_is_a_note_signed_by_the_published_key(
    log: AuditContext,
) -> None:
    async with audit_api(log) as client:
        note = await client.get("/v1/audit/checkpoint")
        key = await client.get("/v1/audit/key")

    assert note.headers["content-type"].startswith("text/plain")
    assert key.headers["content-type"].startswith("text/plain")
    assert key.text == SIGNER.verifier_key + "\n"
    checkpoint = open_checkpoint(note.text, NoteVerifier.parse(key.text))
    assert checkpoint == await log.checkpoints.latest()
    assert note.text.startswith("adminduk.test/audit\n4\n")


async def test_before_the_first_checkpoint_there_is_none_and_no_proof() -> None:
    context = empty_log()
    await context.entries.append(log_entries("req-1"))
    async with audit_api(context) as client:
        checkpoint = await client.get("/v1/audit/checkpoint")
        proof = await client.get("/v1/audit/proofs/inclusion", params={"index": 0})

    assert checkpoint.status_code == 404
    assert checkpoint.json()["error"] == "no_checkpoint"
    assert proof.status_code == 422
    assert proof.json()["details"] == [
        {"field": "query.tree_size", "reason": "Belum ada checkpoint yang ditandatangani."}
    ]


async def test_inclusion_proofs_verify_against_the_signed_roots(log: AuditContext) -> None:
    history = await log.checkpoints.history()
    async with audit_api(log) as client:
        for checkpoint in history:
            for index in range(checkpoint.size):
                response = await client.get(
                    "/v1/audit/proofs/inclusion",
                    params={"index": index, "tree_size": checkpoint.size},
                )
                body = response.json()
                assert body["index"] == index
                assert body["tree_size"] == checkpoint.size
                assert verify_inclusion(
                    index=index,
                    size=checkpoint.size,
                    leaf=decoded(body["leaf_hash"]),
                    proof=[decoded(hash_) for hash_ in body["proof"]],
                    root=checkpoint.root_hash,
                )
        latest = (await client.get("/v1/audit/proofs/inclusion", params={"index": 1})).json()

    assert latest["tree_size"] == 4


async def test_a_consistency_proof_shows_the_latest_tree_extends_an_earlier_one(
    log: AuditContext,
) -> None:
    first, second = await log.checkpoints.history()
    async with audit_api(log) as client:
        body = (await client.get("/v1/audit/proofs/consistency", params={"first": 3})).json()

    assert (body["first"], body["second"]) == (3, 4)
    assert verify_consistency(
        first=3,
        second=4,
        first_root=first.root_hash,
        second_root=second.root_hash,
        proof=[decoded(hash_) for hash_ in body["proof"]],
    )


@pytest.mark.parametrize(
    ("path", "params", "field", "reason"),
    [
        ("inclusion", {"index": -1}, "query.index", "Paling kecil 0."),
        ("inclusion", {}, "query.index", "Wajib diisi."),
        ("inclusion", {"index": "x"}, "query.index", "Harus berupa bilangan bulat."),
        ("inclusion", {"index": 0, "tree_size": 0}, "query.tree_size", "Paling kecil 1."),
        ("inclusion", {"index": 0, "tree_size": 5}, "query.tree_size", "Paling besar 4: "),
        ("inclusion", {"index": 3, "tree_size": 3}, "query.index", "indeks 0 sampai 2"),
        ("inclusion", {"index": 2**63}, "query.index", f"Paling besar {2**63 - 1}."),
        ("consistency", {"first": 0}, "query.first", "Paling kecil 1."),
        ("consistency", {"first": 5}, "query.first", "Paling besar 4: "),
        ("consistency", {"first": 1, "second": 9}, "query.second", "Paling besar 4: "),
        ("consistency", {"first": 4, "second": 3}, "query.first", "Paling besar 3: "),
    ],
)
async def test_a_proof_asked_with_bad_or_unsigned_sizes_is_a_422_that_says_why(
    log: AuditContext, path: str, params: dict[str, int | str], field: str, reason: str
) -> None:
    async with audit_api(log) as client:
        response = await client.get(f"/v1/audit/proofs/{path}", params=params)

    assert response.status_code == 422
    [detail] = response.json()["details"]
    assert detail["field"] == field
    assert reason in detail["reason"]


async def test_the_export_holds_the_whole_log_and_verifies_with_the_key(
    log: AuditContext,
) -> None:
    async with audit_api(log) as client:
        response = await client.get("/v1/audit/export")

    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [from_line(line) for line in response.text.splitlines()]
    checker = LogVerifier(NoteVerifier.parse(SIGNER.verifier_key))
    for record in records:
        checker.take(record)
    report = checker.report()
    assert report.valid
    assert (report.entries, report.tree_size) == (4, 4)
    assert len(records) == 2 + 4


async def test_verify_reports_an_intact_log(log: AuditContext) -> None:
    latest = await log.checkpoints.latest()
    assert latest is not None
    async with audit_api(log) as client:
        verification = (await client.get("/v1/audit/verify")).json()

    assert verification == {
        "valid": True,
        "entries": 4,
        "checkpoints": 2,
        "tree_size": 4,
        "root_hash": base64.b64encode(latest.root_hash).decode(),
        "uncovered": 0,
        "findings": [],
        "more_findings": 0,
    }


async def test_verify_points_at_a_tampered_entry(log: AuditContext) -> None:
    entries = log.entries
    assert isinstance(entries, FakeLogEntries)
    entries.by_index[1] = dataclasses.replace(entries.by_index[1], subject="req-9")

    async with audit_api(log) as client:
        verification = (await client.get("/v1/audit/verify")).json()

    assert verification["valid"] is False
    assert verification["tree_size"] == 0
    assert verification["findings"][0] == {
        "problem": "edited",
        "detail": "isinya tidak cocok dengan hash daun yang dicatat pohon",
        "index": 1,
        "through": None,
        "tree_size": None,
    }
    assert [finding["problem"] for finding in verification["findings"]] == [
        "edited",
        "root_mismatch",
    ]
