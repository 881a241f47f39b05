"""The edges the letter use cases talk to; the Mongo adapter and the test fakes implement them."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from services.processing.letters.domain.letter import Letter
from shared.events.envelope import CloudEvent
from shared.outbox import Outbox


class LetterRepository(Protocol):
    outgoing: Outbox

    async def agenda_head(self, year: int) -> int:
        """The last agenda number of the year known to be taken; it may lag behind."""
        ...

    async def add(self, letter: Letter, *, outbox: list[CloudEvent]) -> bool:
        """Stores a new letter and its events if its agenda number is free; False if taken."""
        ...

    async def advance_agenda(self, year: int, number: int) -> None:
        """Moves the year's head to `number`, unless it is there or beyond already."""
        ...

    async def get(self, letter_id: str) -> tuple[Letter, int] | None:
        """The letter and the revision it was read at."""
        ...

    async def save(self, letter: Letter, *, revision: int, outbox: list[CloudEvent]) -> bool:
        """Stores the letter's changes and events, if it is still at `revision`."""
        ...


class LetterArchive(Protocol):
    async def received_in(self, years: list[int]) -> list[Letter]:
        """Every letter registered in the given years."""
        ...


@dataclass(frozen=True)
class StoredScan:
    """A letter's scan as stored: its type and size, and its bytes, read as they are taken."""

    media_type: str
    size_bytes: int
    content: AsyncIterator[bytes]


class LetterScans(Protocol):
    """A letter's scans by their own ids: the letter's `scan_id` says which one is its scan."""

    async def write(self, letter_id: str, scan_id: str, content: AsyncIterable[bytes]) -> None:
        """Stores a scan's bytes as they arrive, not readable until committed; an upload that
        fails, the content's own refusal included, leaves nothing stored."""
        ...

    async def commit(
        self, letter_id: str, scan_id: str, *, media_type: str, size_bytes: int
    ) -> None:
        """Makes a written scan readable under its id."""
        ...

    async def discard(self, letter_id: str, scan_id: str) -> None:
        """Removes a scan the letter does not (or no longer) point at; a second time, nothing."""
        ...

    async def read(self, letter_id: str, scan_id: str) -> StoredScan | None:
        """The letter's committed scan of this id, if there is one."""
        ...


class LetterIndex(Protocol):
    """Which letters to look at for an official's inbox and for the open letters of an office,
    addressed by `_id`, so neither view scans all letters."""

    async def note_holder(self, official_id: str, letter_id: str) -> None: ...

    async def held_by(self, official_id: str) -> list[str]: ...

    async def forget_held(self, official_id: str, letter_ids: list[str]) -> None: ...

    async def note_open(self, service_point: str, letter_id: str) -> None: ...

    async def open_letters(self, service_point: str) -> list[str]: ...

    async def forget_open(self, service_point: str, letter_ids: list[str]) -> None: ...
