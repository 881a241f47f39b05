"""How a service declares the events it consumes, and how each event reaches its handler.

A `Subscription` is declared once, at import time and free of I/O: handlers are registered by event
class, so the topics a service reads and the AsyncAPI document's readers follow from it. Bootstrap
binds it to the handlers' dependencies and the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.clock import Clock
from shared.crypto import UnreadableSecret
from shared.errors import PoisonEvent
from shared.events.envelope import CloudEvent, Event
from shared.events.sealing import EventKeys
from shared.events.topics import Topic

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
E_co = TypeVar("E_co", bound=Event, covariant=True)
D = TypeVar("D")

Dispatch = Callable[[CloudEvent], Awaitable[None]]
"""Handles one consumed event; raising means the event was not handled."""


@dataclass(frozen=True)
class Received(Generic[E_co]):
    """An event as its handler sees it: the validated data and the envelope's id and time."""

    data: E_co
    event_id: str
    source: str
    time: datetime
    now: datetime


HandlerFunction = Callable[[Received[E], D], Awaitable[None]]


class Subscription(Generic[D]):
    """The events one service consumes, each with its handler.

    Types the service does not handle are acknowledged, unless `every_type` says the service must
    see every event on its topics (audit): then an unknown type is dead-lettered, never skipped.
    """

    def __init__(self, service: str, *, every_type: bool = False) -> None:
        self.service = service
        self.every_type = every_type
        self._handlers: dict[type[Event], HandlerFunction[Any, D]] = {}

    def on(
        self, *event_classes: type[E]
    ) -> Callable[[HandlerFunction[E, D]], HandlerFunction[E, D]]:
        """Registers the decorated function as the handler of these event classes."""

        def register(handler: HandlerFunction[E, D]) -> HandlerFunction[E, D]:
            for event_class in event_classes:
                if event_class in self._handlers:
                    raise TypeError(f"{self.service} handles {event_class.__name__} twice")
                self._handlers[event_class] = handler
            return handler

        return register

    @property
    def events(self) -> tuple[type[Event], ...]:
        return tuple(self._handlers)

    @property
    def topics(self) -> list[Topic]:
        """The topics the handled events travel on, in registration order."""
        return list(dict.fromkeys(event_class.topic for event_class in self._handlers))

    def bind(self, dependencies: D, clock: Clock, keys: EventKeys | None = None) -> Dispatch:
        """The function a consumer feeds every event to; with `keys`, a handled event's personal
        fields are opened first, and one that does not open is poison."""
        routes = {cls.event_type: (cls, handler) for cls, handler in self._handlers.items()}

        async def dispatch(event: CloudEvent) -> None:
            route = routes.get(event.type)
            if route is None:
                if self.every_type:
                    raise PoisonEvent(f"unknown event type {event.type}")
                log.debug("no handler for %s; acknowledged", event.type)
                return
            event_class, handler = route
            try:
                data = event.data if keys is None else keys.open(event, event_class)
            except UnreadableSecret as exc:
                raise PoisonEvent(f"personal fields do not open: {exc}") from None
            received = Received(
                data=event_class.model_validate(data),
                event_id=event.id,
                source=event.source,
                time=event.time,
                now=clock(),
            )
            await handler(received, dependencies)

        return dispatch
