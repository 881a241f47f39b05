"""Audit's use case for followers of the log: each gets the entries from where it starts, in index
order, as they are appended.

Appends by this process wake the followers at once; those of another audit instance are found by
looking up the log's size after each quiet `poll_interval_s`. A follower never skips an index: if
an entry below the log's size cannot be read, it waits there (and the verification reports the
gap).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from services.audit.domain.entry import LogEntry
from services.audit.domain.stream import check_within
from services.audit.service_layer.ports import LogEntries
from shared.errors import Kind, Refusal
from shared.redaction import describe_error
from shared.transient import is_transient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Idle:
    """Nothing was appended for a heartbeat interval."""


IDLE = Idle()


class TooManyFollowers(Refusal):
    """As many streams are open as the service serves at once."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "too_many_streams",
            f"Sudah ada {limit} aliran log terbuka. Coba lagi nanti.",
            Kind.UNAVAILABLE,
        )
        self.limit = limit


class FeedClosed(Refusal):
    """The service is shutting down."""

    def __init__(self) -> None:
        super().__init__("stream_unavailable", "Layanan sedang dihentikan.", Kind.UNAVAILABLE)


class Follower:
    """One follower's place in the log. It counts against the limit while it is referenced and
    not finished, so a stream dropped before it began frees its place too."""

    def __init__(self, feed: LogFeed, position: int) -> None:
        self._feed = feed
        self.position = position

    def __aiter__(self) -> AsyncIterator[LogEntry | Idle]:
        return self._feed.entries_for(self)


class LogFeed:
    """Follows the log for the auditors' streams, at most `max_followers` at once, and ends
    them all when the service stops (a `Worker`)."""

    def __init__(
        self,
        *,
        log: LogEntries,
        max_followers: int,
        poll_interval_s: float,
        heartbeat_s: float,
        read_batch: int = 100,
    ) -> None:
        self._log = log
        self._max_followers = max_followers
        self._poll_interval_s = poll_interval_s
        self._heartbeat_s = heartbeat_s
        self._read_batch = read_batch
        self._followers: weakref.WeakSet[Follower] = weakref.WeakSet()
        self._appended = asyncio.Event()
        self._closed = False

    def appended(self, entries: Sequence[LogEntry]) -> None:
        """Wakes every follower: entries were appended by this process."""
        self._appended.set()
        self._appended = asyncio.Event()

    async def start(self) -> None:
        self._closed = False

    async def stop(self) -> None:
        self.close()

    def close(self) -> None:
        """Ends every stream after what it is sending; refuses new ones."""
        self._closed = True
        self.appended(())

    @property
    def running(self) -> bool:
        return not self._closed

    @property
    def followers(self) -> int:
        return len(self._followers)

    async def follow(self, *, first: int | None, field: str) -> Follower:
        """A follower from index `first`, or from the end of the log; `InvalidResume` (about
        `field`) if `first` lies past the end, `TooManyFollowers` beyond the limit."""
        self._check_room()
        size = await self._log.size()
        if first is None:
            first = size
        check_within(first, size, field=field)
        self._check_room()
        follower = Follower(self, first)
        self._followers.add(follower)
        return follower

    def _check_room(self) -> None:
        if self._closed:
            raise FeedClosed
        if len(self._followers) >= self._max_followers:
            raise TooManyFollowers(self._max_followers)

    async def entries_for(self, follower: Follower) -> AsyncIterator[LogEntry | Idle]:
        """The follower's entries as they come, an `IDLE` after each quiet heartbeat interval."""
        clock = asyncio.get_running_loop().time
        quiet_since = clock()
        look = False
        try:
            while not self._closed:
                appended = self._appended
                batch = await self._read(follower.position, look=look)
                for entry in batch:
                    yield entry
                    follower.position = entry.index + 1
                if batch:
                    quiet_since = clock()
                    if len(batch) == self._read_batch:
                        continue
                elif clock() - quiet_since >= self._heartbeat_s:
                    yield IDLE
                    quiet_since = clock()
                wait = min(self._poll_interval_s, quiet_since + self._heartbeat_s - clock())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(appended.wait(), max(wait, 0.0))
                look = not appended.is_set()
        finally:
            self._followers.discard(follower)

    async def _read(self, position: int, *, look: bool) -> list[LogEntry]:
        """The entries from `position` on, as many as are there in a row, up to a batch; none
        while the database does not answer (the stream goes on with heartbeats). Up to the end
        this process knows, or, to `look` for what other instances appended, the log's size."""
        try:
            end = min(
                await self._log.size() if look else self._log.end(), position + self._read_batch
            )
            if end <= position:
                return []
            return await self._log.following(position, end)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("log feed cannot read the log, trying again: %s", describe_error(exc))
            return []
