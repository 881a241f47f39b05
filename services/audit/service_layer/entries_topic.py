"""Audit's use case for the entries topic: every entry of the log, published in index order.

The relay follows the log by index from the position it recorded in audit's database, publishes
what lies beyond it, and records the new position only once the topic has it. An entry appended
just before a crash is therefore published after the restart; one published just before a crash is
published again (at least once, keyed by index, so consumers drop an index they already hold).
"""

from __future__ import annotations

import logging

from services.audit.service_layer.ports import EntriesTopic, LogEntries, PublishedPosition

log = logging.getLogger(__name__)


class EntryRelay:
    """Publishes up to the end the log knows; the position is read once and then kept, since
    only a relay that still holds it can advance it."""

    def __init__(
        self,
        *,
        log: LogEntries,
        topic: EntriesTopic,
        position: PublishedPosition,
        batch: int = 200,
    ) -> None:
        self._log = log
        self._topic = topic
        self._position = position
        self._batch = batch
        self._next: int | None = None

    async def run(self) -> int:
        """Publishes the entries appended since the recorded position; returns how many."""
        published = 0
        start = await self._start()
        end = self._log.end()
        while start < end:
            stop = min(end, start + self._batch)
            entries = await self._log.following(start, stop)
            if entries:
                await self._topic.publish(entries)
                published += len(entries)
                following = start + len(entries)
                if await self._position.advance(from_index=start, to_index=following):
                    self._next = following
                else:
                    self._next = None
                    following = await self._start()
            if len(entries) < stop - start:
                missing = start + len(entries)
                log.error("entry %d of the log is missing; the entries topic waits at it", missing)
                return published
            start = following
        return published

    async def _start(self) -> int:
        if self._next is None:
            self._next = await self._position.get()
        return self._next
