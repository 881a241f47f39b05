"""Checks the audit log away from the service, trusting nothing but the log's verifier key.

    python -m services.audit.verifier --key KEY --url https://audit.example --token TOKEN [--save F]
    python -m services.audit.verifier --key KEY --export FILE

The log is read as its export (`GET /v1/audit/export`, JSON lines; `--save` keeps a copy). Every
checkpoint's signature is checked, every checkpoint against the one before it, every entry against
its recorded leaf hash and every checkpoint's root against the entries; each thing found wrong is
printed with the entry index or tree size it concerns.

Exit status: 0 if nothing is wrong, 1 if something is (or nothing signed could be checked), 2 if
the check could not be made (a malformed key, an unreadable file, the service not answering).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import httpx

from services.audit.domain.export import from_line
from services.audit.domain.note import NoteVerifier
from services.audit.domain.verification import Finding, LogVerifier, Problem, Report

VALID, TAMPERED, NOT_CHECKED = 0, 1, 2
EXPORT_PATH = "/v1/audit/export"
TIMEOUT_S = 60.0


class CheckFailed(Exception):
    """The log could not be read, so nothing was checked."""


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.audit.verifier",
        description="Memeriksa log audit: tanda tangan checkpoint, konsistensi, dan setiap entri.",
    )
    parser.add_argument("--key", required=True, help="kunci verifikasi log (GET /v1/audit/key)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="alamat dasar layanan audit")
    source.add_argument("--export", type=Path, help="berkas ekspor log (JSON lines)")
    parser.add_argument("--token", help="token auditor, bersama --url")
    parser.add_argument("--save", type=Path, help="simpan ekspor yang diunduh ke berkas ini")
    parsed = parser.parse_args(argv)
    if parsed.url and not parsed.token:
        parser.error("--url memerlukan --token")
    if parsed.save and not parsed.url:
        parser.error("--save hanya bersama --url")
    return parsed


async def run(
    options: argparse.Namespace,
    *,
    out: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Checks the log the options name and prints what was found; returns the exit status."""
    out = out or sys.stdout
    try:
        checker = LogVerifier(NoteVerifier.parse(options.key))
    except ValueError as exc:
        print(f"Kunci verifikasi tidak dapat dipakai: {exc}", file=out)
        return NOT_CHECKED
    try:
        if options.export is not None:
            _check_lines(checker, _file_lines(options.export))
        else:
            await _check_download(checker, options, transport)
    except CheckFailed as exc:
        print(f"Log tidak dapat dibaca: {exc}", file=out)
        return NOT_CHECKED
    report = checker.report()
    _print(report, out)
    return VALID if report.valid and (report.tree_size or not report.entries) else TAMPERED


def _file_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckFailed(f"{path}: {exc}") from None


def _check_lines(checker: LogVerifier, lines: Iterable[str]) -> None:
    for number, line in enumerate(lines, start=1):
        _check_line(checker, number, line)


def _check_line(checker: LogVerifier, number: int, line: str) -> None:
    if not line.strip():
        return
    try:
        record = from_line(line)
    except ValueError as exc:
        checker.unreadable(f"baris {number}", str(exc))
        return
    checker.take(record)


async def _check_download(
    checker: LogVerifier, options: argparse.Namespace, transport: httpx.AsyncBaseTransport | None
) -> None:
    with ExitStack() as stack:
        copy = None
        if options.save is not None:
            copy = stack.enter_context(options.save.open("w", encoding="utf-8"))
        number = 0
        async for line in _downloaded(options.url, options.token, transport):
            number += 1
            if copy is not None:
                copy.write(line + "\n")
            _check_line(checker, number, line)


async def _downloaded(
    url: str, token: str, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[str]:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            httpx.AsyncClient(base_url=url, transport=transport, timeout=TIMEOUT_S) as http,
            http.stream("GET", EXPORT_PATH, headers=headers) as response,
        ):
            if response.status_code != httpx.codes.OK:
                raise CheckFailed(f"{url}{EXPORT_PATH} menjawab {response.status_code}")
            async for line in response.aiter_lines():
                yield line
    except httpx.HTTPError as exc:
        raise CheckFailed(f"{url}: {exc}") from None


def _print(report: Report, out: TextIO) -> None:
    print(f"Diperiksa: {report.entries} entri, {report.checkpoints} checkpoint.", file=out)
    if report.root_hash is not None:
        root = base64.b64encode(report.root_hash).decode()
        print(f"Checkpoint terakhir yang cocok: ukuran {report.tree_size}, akar {root}.", file=out)
    if report.uncovered:
        print(f"{report.uncovered} entri terakhir belum masuk checkpoint.", file=out)
    if not report.valid:
        print(f"DIUBAH: {len(report.findings)} temuan.", file=out)
        for finding in report.findings:
            print(f"  {_where(finding)}: {finding.problem.value}: {finding.detail}", file=out)
    elif report.entries and not report.tree_size:
        print("BELUM PASTI: tidak ada checkpoint sah yang mencakup entri ini.", file=out)
    else:
        print("UTUH: tidak ada yang diubah.", file=out)


def _where(finding: Finding) -> str:
    if finding.tree_size is not None and finding.problem is not Problem.ROOT_MISMATCH:
        return f"checkpoint {finding.tree_size}"
    if finding.index is None:
        return "salinan"
    if finding.problem is Problem.ROOT_MISMATCH:
        return f"checkpoint {finding.tree_size}, mulai entri {finding.index}"
    if finding.through is not None and finding.through != finding.index:
        return f"entri {finding.index}-{finding.through}"
    return f"entri {finding.index}"


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
