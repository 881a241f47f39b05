"""In-memory letters, scans and letter index, behaving like their Mongo adapters."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterable, AsyncIterator

from services.processing.config import ProcessingSettings
from services.processing.letters.domain.letter import Letter
from services.processing.letters.handlers import LetterDependencies
from services.processing.letters.ports import StoredScan
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class FakeLetterRepository:
    """Letters by agenda id; `add` yields first, so concurrent registrations interleave."""

    def __init__(self) -> None:
        self.letters: dict[str, tuple[Letter, int]] = {}
        self.heads: dict[int, int] = {}
        self.outbox: list[CloudEvent] = []
        self.outgoing = Outbox()

    async def agenda_head(self, year: int) -> int:
        return self.heads.get(year, 0)

    async def advance_agenda(self, year: int, number: int) -> None:
        await asyncio.sleep(0)
        self.heads[year] = max(self.heads.get(year, 0), number)

    async def add(self, letter: Letter, *, outbox: list[CloudEvent]) -> bool:
        await asyncio.sleep(0)
        if letter.letter_id in self.letters:
            return False
        self.letters[letter.letter_id] = (self._copy(letter), 0)
        self.outbox.extend(outbox)
        return True

    async def get(self, letter_id: str) -> tuple[Letter, int] | None:
        stored = self.letters.get(letter_id)
        return None if stored is None else (self._copy(stored[0]), stored[1])

    async def save(self, letter: Letter, *, revision: int, outbox: list[CloudEvent]) -> bool:
        stored = self.letters.get(letter.letter_id)
        if stored is None or stored[1] != revision:
            return False
        self.letters[letter.letter_id] = (self._copy(letter), revision + 1)
        self.outbox.extend(outbox)
        return True

    async def received_in(self, years: list[int]) -> list[Letter]:
        return [self._copy(letter) for letter, _ in self.letters.values() if letter.year in years]

    @staticmethod
    def _copy(letter: Letter) -> Letter:
        kept = copy.deepcopy(letter)
        kept.events = []
        return kept


class FakeLetterScans:
    """Keeps bytes apart from descriptions, like the chunk store: only a committed scan reads."""

    def __init__(self) -> None:
        self.contents: dict[str, bytes] = {}
        self.scans: dict[str, tuple[str, str]] = {}
        """Committed scans: scan id → (letter id, media type)."""

    async def write(self, letter_id: str, scan_id: str, content: AsyncIterable[bytes]) -> None:
        self.contents[scan_id] = b""
        try:
            async for part in content:
                self.contents[scan_id] += part
        except BaseException:
            del self.contents[scan_id]
            raise

    async def commit(
        self, letter_id: str, scan_id: str, *, media_type: str, size_bytes: int
    ) -> None:
        assert len(self.contents[scan_id]) == size_bytes
        self.scans[scan_id] = (letter_id, media_type)

    async def discard(self, letter_id: str, scan_id: str) -> None:
        if self.scans.get(scan_id, (letter_id,))[0] == letter_id:
            self.scans.pop(scan_id, None)
            self.contents.pop(scan_id, None)

    async def read(self, letter_id: str, scan_id: str) -> StoredScan | None:
        stored = self.scans.get(scan_id)
        if stored is None or stored[0] != letter_id:
            return None
        content = self.contents[scan_id]
        return StoredScan(media_type=stored[1], size_bytes=len(content), content=_parts(content))


async def _parts(content: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(content), 16):
        yield content[start : start + 16]


class FakeLetterIndex:
    def __init__(self) -> None:
        self.sets: dict[str, set[str]] = {}

    async def note_holder(self, official_id: str, letter_id: str) -> None:
        self.sets.setdefault(f"holder|{official_id}", set()).add(letter_id)

    async def held_by(self, official_id: str) -> list[str]:
        return sorted(self.sets.get(f"holder|{official_id}", set()))

    async def forget_held(self, official_id: str, letter_ids: list[str]) -> None:
        self.sets.get(f"holder|{official_id}", set()).difference_update(letter_ids)

    async def note_open(self, service_point: str, letter_id: str) -> None:
        self.sets.setdefault(f"open|{service_point}", set()).add(letter_id)

    async def open_letters(self, service_point: str) -> list[str]:
        return sorted(self.sets.get(f"open|{service_point}", set()))

    async def forget_open(self, service_point: str, letter_ids: list[str]) -> None:
        self.sets.get(f"open|{service_point}", set()).difference_update(letter_ids)


def fake_letters() -> LetterDependencies:
    """What processing's consumer needs of letters, in memory, with the default policy."""
    return LetterDependencies(
        repository=FakeLetterRepository(),
        index=FakeLetterIndex(),
        policy=ProcessingSettings().letter_policy(),
    )
