"""Routes each consumed event to the handler registered for its type, in one explicit map."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from shared.events.envelope import CloudEvent

log = logging.getLogger(__name__)

Handler = Callable[[CloudEvent], Awaitable[None]]


class EventDispatcher:
    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self._handlers = dict(handlers)

    async def __call__(self, event: CloudEvent) -> None:
        """Runs the event's handler; types this service does not act on are acknowledged."""
        handler = self._handlers.get(event.type)
        if handler is None:
            log.debug("no handler for %s; acknowledged", event.type)
            return
        await handler(event)
