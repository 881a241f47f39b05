"""What every store of letters' scans must do, fake or MongoDB alike.

The class is abstract: a subclass named `Test…` provides a function-scoped `scans` fixture
holding an empty store.
"""

from __future__ import annotations

import os

import pytest

from services.processing.letters.ports import LetterScans, StoredScan
from tests.contracts.documents import Interrupted, breaking_off
from tests.documents import PDF, parts

LETTER_ID = "2025-00001"
LARGE_SCAN = PDF + os.urandom(700_000)
"""Several chunks' worth, with a last one that is not full."""


async def content_of(scan: StoredScan | None) -> tuple[bytes, str, int] | None:
    if scan is None:
        return None
    return b"".join([part async for part in scan.content]), scan.media_type, scan.size_bytes


async def stored(scans: LetterScans, scan_id: str, content: bytes) -> None:
    await scans.write(
        LETTER_ID, scan_id, parts(content[:1000], content[1000:400_000], content[400_000:])
    )
    await scans.commit(LETTER_ID, scan_id, media_type="application/pdf", size_bytes=len(content))


class LetterScansContract:
    @pytest.mark.parametrize("content", [PDF, LARGE_SCAN], ids=["small", "several chunks"])
    async def test_a_committed_scan_reads_back_byte_for_byte(
        self, scans: LetterScans, content: bytes
    ) -> None:
        await stored(scans, "scan-1", content)

        found = await content_of(await scans.read(LETTER_ID, "scan-1"))

        assert found == (content, "application/pdf", len(content))

    async def test_a_scan_is_read_only_once_committed_and_only_for_its_letter(
        self, scans: LetterScans
    ) -> None:
        await scans.write(LETTER_ID, "scan-1", parts(PDF))
        before = await scans.read(LETTER_ID, "scan-1")
        await scans.commit(LETTER_ID, "scan-1", media_type="application/pdf", size_bytes=len(PDF))

        assert before is None
        assert await scans.read("2025-00002", "scan-1") is None
        assert await scans.read(LETTER_ID, "scan-2") is None

    async def test_an_upload_that_breaks_off_leaves_nothing_readable(
        self, scans: LetterScans
    ) -> None:
        with pytest.raises(Interrupted):
            await scans.write(
                LETTER_ID, "scan-1", breaking_off(LARGE_SCAN[:300_000], LARGE_SCAN[300_000:])
            )

        assert await scans.read(LETTER_ID, "scan-1") is None

    async def test_a_discarded_scan_is_gone_and_discarding_again_changes_nothing(
        self, scans: LetterScans
    ) -> None:
        await stored(scans, "scan-1", LARGE_SCAN)
        await stored(scans, "scan-2", PDF)

        await scans.discard(LETTER_ID, "scan-1")
        await scans.discard(LETTER_ID, "scan-1")
        await scans.discard("2025-00002", "scan-2")

        assert await scans.read(LETTER_ID, "scan-1") is None
        assert await content_of(await scans.read(LETTER_ID, "scan-2")) == (
            PDF,
            "application/pdf",
            len(PDF),
        )
