"""The offline verifier: an export (a file, or downloaded from the service) is checked with the
log's key alone, and every tampered place is printed with its index; the exit status says so."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from services.audit.domain.checkpoint import Checkpoint, sign_checkpoint
from services.audit.domain.export import to_line
from services.audit.domain.note import NoteSigner
from services.audit.domain.verification import ExportedEntry
from services.audit.entrypoints.api import AuditContext
from services.audit.service_layer.tree import Checkpointer, export_log
from services.audit.verifier import NOT_CHECKED, TAMPERED, VALID, arguments, main, run
from shared.dependencies import provide
from shared.http.app import ReadinessCheck
from tests.auth import STAFF_KEYS, token
from tests.contracts.audit import ORIGIN, SIGNER, log_entries
from tests.fakes_audit import FakeCheckpoints, FakeLogEntries, FakeTreeNodes

KEY = SIGNER.verifier_key


@pytest.fixture
async def context() -> AuditContext:
    """Eight entries, signed at sizes 3, 6 and 8."""
    context = AuditContext(
        entries=FakeLogEntries(),
        nodes=FakeTreeNodes(),
        checkpoints=FakeCheckpoints(),
        signer=SIGNER,
    )
    checkpointer = Checkpointer(
        entries=context.entries,
        nodes=context.nodes,
        checkpoints=context.checkpoints,
        signer=SIGNER,
    )
    for start, end in [(0, 3), (3, 6), (6, 8)]:
        await context.entries.append(
            log_entries(*(f"req-{n}" for n in range(start, end)), start=start)
        )
        await checkpointer.run()
    return context


async def exported_lines(context: AuditContext) -> list[str]:
    return [
        to_line(record)
        async for record in export_log(
            entries=context.entries, nodes=context.nodes, checkpoints=context.checkpoints
        )
    ]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "audit-export.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def entry_line(lines: list[str], index: int) -> int:
    return next(
        number
        for number, line in enumerate(lines)
        if json.loads(line).get("entry", {}).get("index") == index
    )


async def verify_file(path: Path, key: str = KEY) -> tuple[int, str]:
    out = io.StringIO()
    status = await run(arguments(["--key", key, "--export", str(path)]), out=out)
    return status, out.getvalue()


async def test_an_intact_export_passes(context: AuditContext, tmp_path: Path) -> None:
    status, out = await verify_file(write(tmp_path, await exported_lines(context)))

    assert status == VALID
    assert "Diperiksa: 8 entri, 3 checkpoint." in out
    assert "ukuran 8" in out
    assert "UTUH" in out


async def test_an_edited_entry_is_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    number = entry_line(lines, 4)
    lines[number] = lines[number].replace('"subject":"req-4"', '"subject":"req-x"')

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  entri 4: edited: " in out
    assert "  checkpoint 6, mulai entri 3: root_mismatch: " in out


async def test_a_deleted_entry_is_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    del lines[entry_line(lines, 2)]

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  entri 2: missing: entri tidak ada" in out


async def test_reordered_entries_are_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    five, six = entry_line(lines, 5), entry_line(lines, 6)
    lines[five], lines[six] = lines[six], lines[five]

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  entri 5: out_of_order: muncul sesudah entri berindeks 6" in out


async def test_an_inserted_entry_is_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    copied = json.loads(lines[entry_line(lines, 1)])
    copied["entry"]["event_id"] = "evt-forged"
    lines.insert(entry_line(lines, 2), json.dumps(copied) + "\n")

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  entri 1: duplicate: entri kedua pada indeks ini" in out


async def test_a_forked_checkpoint_is_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    fork = sign_checkpoint(Checkpoint(ORIGIN, 6, b"\x42" * 32), SIGNER)
    forked = json.loads(lines[1])
    forked["checkpoint"] = fork.note
    lines[1] = json.dumps(forked) + "\n"

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  checkpoint 6: forked: checkpoint 6 tidak melanjutkan checkpoint 3" in out


async def test_a_checkpoint_under_another_key_is_named_and_nothing_else_verifies(
    context: AuditContext, tmp_path: Path
) -> None:
    lines = await exported_lines(context)
    other = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())

    status, out = await verify_file(write(tmp_path, lines), other.verifier_key)

    assert status == TAMPERED
    assert out.count("bad_checkpoint") == 3
    assert "Checkpoint terakhir yang cocok" not in out


async def test_an_unreadable_line_is_named(context: AuditContext, tmp_path: Path) -> None:
    lines = await exported_lines(context)
    lines.insert(5, '{"entry": {"index": "five"}, "leaf_hash": null}\n')

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "  salinan: unreadable: baris 6: an audit entry has exactly the fields" in out


async def test_entries_without_any_checkpoint_are_not_taken_as_intact(tmp_path: Path) -> None:
    entries = log_entries("req-1", "req-2")
    lines = [to_line(ExportedEntry(entry, None)) for entry in entries]

    status, out = await verify_file(write(tmp_path, lines))

    assert status == TAMPERED
    assert "BELUM PASTI" in out


def test_a_malformed_key_or_a_missing_file_checks_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--key", "not-a-key", "--export", str(tmp_path / "none")]) == NOT_CHECKED
    assert "Kunci verifikasi tidak dapat dipakai" in capsys.readouterr().out
    assert main(["--key", KEY, "--export", str(tmp_path / "none")]) == NOT_CHECKED
    assert "Log tidak dapat dibaca" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--key", KEY],
        ["--key", KEY, "--url", "http://audit.test"],
        ["--key", KEY, "--export", "x", "--save", "y"],
        ["--key", KEY, "--export", "x", "--url", "http://audit.test", "--token", "t"],
    ],
)
def test_the_log_comes_from_one_place_and_the_service_needs_a_token(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as refusal:
        arguments(argv)

    assert refusal.value.code == 2


@asynccontextmanager
async def served(context: AuditContext) -> AsyncIterator[httpx.ASGITransport]:
    @asynccontextmanager
    async def wiring(app: FastAPI) -> AsyncIterator[dict[str, ReadinessCheck]]:
        provide(app, context)
        yield {}

    app = create_app(AuditSettings(), wiring=wiring, staff_keys=STAFF_KEYS)
    async with app.router.lifespan_context(app):
        yield httpx.ASGITransport(app=app)


async def test_the_log_downloaded_from_the_service_passes_and_a_copy_is_kept(
    context: AuditContext, tmp_path: Path
) -> None:
    out = io.StringIO()
    saved = tmp_path / "saved.jsonl"
    options = arguments(
        [
            "--key",
            KEY,
            "--url",
            "http://audit.test",
            "--token",
            token("auditor"),
            "--save",
            str(saved),
        ]
    )
    async with served(context) as transport:
        status = await run(options, out=out, transport=transport)

    assert status == VALID, out.getvalue()
    assert saved.read_text(encoding="utf-8") == "".join(await exported_lines(context))


async def test_an_entry_edited_in_the_service_is_named(context: AuditContext) -> None:
    entries = context.entries
    assert isinstance(entries, FakeLogEntries)
    entries.by_index[7] = dataclasses.replace(entries.by_index[7], data={"n": "changed"})
    out = io.StringIO()
    options = arguments(["--key", KEY, "--url", "http://audit.test", "--token", token("auditor")])
    async with served(context) as transport:
        status = await run(options, out=out, transport=transport)

    assert status == TAMPERED
    assert "  entri 7: edited: " in out.getvalue()


async def test_a_service_that_refuses_the_token_checks_nothing(context: AuditContext) -> None:
    out = io.StringIO()
    options = arguments(["--key", KEY, "--url", "http://audit.test", "--token", token("verifier")])
    async with served(context) as transport:
        status = await run(options, out=out, transport=transport)

    assert status == NOT_CHECKED
    assert "menjawab 403" in out.getvalue()
