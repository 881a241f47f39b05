"""One way to commit an aggregate's events: wrap them, store them with it, hand them to the relay.

Each store carries the `Outbox` of the collection it writes, and the collection's relay
registers with it once, when the service is wired. Use cases reach the relay only through the
store they save to, so none is handed a wake-up of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from shared.events.envelope import CloudEvent, Event

OutboxReady = Callable[[str, Sequence[CloudEvent]], None]
"""Tells the outbox relay which document (by `_id`) just stored these events in its outbox."""


class Save(Protocol):
    """Stores a change together with its wrapped events, in one update: False if it stored
    nothing (a condition of the write no longer held), None for a write that always stores."""

    def __call__(self, *, outbox: list[CloudEvent]) -> Awaitable[bool | None]: ...


class Outbox:
    """A store's outbox as its writers see it: the relay to tell once events are stored.

    Without a relay (a store used on its own, e.g. in a test), stored events wait for a relay's
    sweep, as after a crash.
    """

    def __init__(self) -> None:
        self._relay: OutboxReady | None = None

    def register(self, relay: OutboxReady) -> None:
        """Names the relay that publishes what this store writes, when the service is wired."""
        self._relay = relay

    async def commit(
        self,
        key: str,
        events: Iterable[Event],
        save: Save,
        *,
        source: str,
        time: datetime,
    ) -> bool:
        """Wraps the new events as `source`'s, has `save` store them with the change they come
        from (in one update, under document `key`) and, if it stored, hands them to the relay.

        False if `save` stored nothing.
        """
        wrapped = [CloudEvent.wrap(event, source=source, time=time) for event in events]
        if await save(outbox=wrapped) is False:
            return False
        if wrapped and self._relay is not None:
            self._relay(key, wrapped)
        return True
