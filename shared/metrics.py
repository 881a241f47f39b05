"""Prometheus metrics every service exposes on `/metrics`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pymongo import monitoring
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.models import EVENT_TYPES

EVENTS = Counter(
    "adminduk_events_total",
    "Events a consumer group took from Kafka, by type and outcome (handled, dead_lettered).",
    ["group", "type", "outcome"],
)
HANDED_OVER = Counter(
    "adminduk_events_handed_over_total",
    "Events a consumer group took from Kafka and let go of, not started, when their partition "
    "moved to another consumer at a rebalance; the new owner reads them again.",
    ["group"],
)
OUTBOX_PUBLISHED = Counter(
    "adminduk_outbox_published_total",
    "Outbox items published to Kafka, by collection.",
    ["collection"],
)
ADMISSION_REFUSED = Counter(
    "adminduk_admission_refused_total",
    "Requests answered 503 at once, before any engine work: the process had as many in flight "
    "as it admits (full), or the database had stopped answering (stalled).",
    ["reason"],
)
HTTP_REQUESTS = Histogram(
    "adminduk_http_request_duration_seconds",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)

DB_OPERATIONS = Counter(
    "adminduk_db_operations_total",
    "MongoDB commands sent, by what the service was doing (consumer group, background loop, "
    "http) and command; with adminduk_events_total it gives the database cost of an event.",
    ["activity", "command"],
)
DB_OPERATIONS_PER_EVENT = Histogram(
    "adminduk_db_operations_per_event",
    "MongoDB commands a consumer group's handler sent for one event, retries included.",
    ["group"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50),
)

DB_POOL_CLEARED = Counter(
    "adminduk_db_pool_cleared_total",
    "Times the MongoDB driver dropped every connection of its pool and refused new operations "
    "until its next check of the engine: after a failed check, or a network error of an "
    "operation (the error is logged).",
)
DB_CONNECTIONS_OPENED = Counter(
    "adminduk_db_connections_opened_total",
    "Connections the MongoDB driver opened to the engine, each with its handshake.",
)

log = logging.getLogger(__name__)

_activity: ContextVar[str] = ContextVar("adminduk_activity", default="other")
_tally: ContextVar[list[int] | None] = ContextVar("adminduk_operation_tally", default=None)
_HANDSHAKES = frozenset({"hello", "ismaster", "isMaster"})


class OperationCounter(monitoring.CommandListener):
    """Counts every command a Mongo client sends under the activity of the task that sent it."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in _HANDSHAKES:
            return
        DB_OPERATIONS.labels(_activity.get(), event.command_name).inc()
        tally = _tally.get()
        if tally is not None:
            tally[0] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


class PoolWatch(monitoring.ConnectionPoolListener):
    """Counts the connections a Mongo client opens and the times it clears its pool."""

    def pool_created(self, event: monitoring.PoolCreatedEvent) -> None:
        return None

    def pool_ready(self, event: monitoring.PoolReadyEvent) -> None:
        return None

    def pool_cleared(self, event: monitoring.PoolClearedEvent) -> None:
        DB_POOL_CLEARED.inc()
        log.warning("the database driver cleared its connection pool to %s:%s", *event.address)

    def pool_closed(self, event: monitoring.PoolClosedEvent) -> None:
        return None

    def connection_created(self, event: monitoring.ConnectionCreatedEvent) -> None:
        DB_CONNECTIONS_OPENED.inc()

    def connection_ready(self, event: monitoring.ConnectionReadyEvent) -> None:
        return None

    def connection_closed(self, event: monitoring.ConnectionClosedEvent) -> None:
        return None

    def connection_check_out_started(
        self, event: monitoring.ConnectionCheckOutStartedEvent
    ) -> None:
        return None

    def connection_check_out_failed(self, event: monitoring.ConnectionCheckOutFailedEvent) -> None:
        return None

    def connection_checked_out(self, event: monitoring.ConnectionCheckedOutEvent) -> None:
        return None

    def connection_checked_in(self, event: monitoring.ConnectionCheckedInEvent) -> None:
        return None


class EngineWatch(monitoring.ServerListener):
    """Logs the error for which the driver stopped trusting the engine. A network error marks the
    engine unknown and clears the pool in one step, and the pool's event does not say why. The
    same failure again (each check of an engine that stays away) is logged once."""

    def opened(self, event: monitoring.ServerOpeningEvent) -> None:
        return None

    def description_changed(self, event: monitoring.ServerDescriptionChangedEvent) -> None:
        error = event.new_description.error
        if error is not None and repr(error) != repr(event.previous_description.error):
            log.warning(
                "the database driver marked %s:%s unknown after %r", *event.server_address, error
            )

    def closed(self, event: monitoring.ServerClosedEvent) -> None:
        return None


@contextmanager
def activity(name: str) -> Iterator[None]:
    """Attributes the database commands sent inside the block (and its tasks) to `name`."""
    token = _activity.set(name)
    try:
        yield
    finally:
        _activity.reset(token)


@contextmanager
def counting_operations(group: str) -> Iterator[None]:
    """Records how many database commands handling one event of `group` took."""
    tally = [0]
    tally_token = _tally.set(tally)
    try:
        with activity(group):
            yield
    finally:
        _tally.reset(tally_token)
        DB_OPERATIONS_PER_EVENT.labels(group).observe(tally[0])


def event_type_label(event_type: str) -> str:
    """A registered event type by name; anything else a producer sends as 'other', so that made-up
    types cannot add label values without bound."""
    return event_type if event_type in EVENT_TYPES or event_type == "unreadable" else "other"


router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class HttpMetrics:
    """Times each request under its route template, so ids in paths do not explode the labels."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with activity("http"):
                await self.app(scope, receive, send_with_status)
        finally:
            HTTP_REQUESTS.labels(_method(scope), _route(scope), str(status)).observe(
                time.perf_counter() - started
            )


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(scope: Scope) -> str:
    """The request's method if it is a standard one: clients choose it, so anything else would
    let them add label values (and memory) without bound."""
    method = str(scope["method"])
    return method if method in HTTP_METHODS else "other"


def _route(scope: Scope) -> str:
    """The template of the route that served the request, which routing leaves in the scope."""
    return str(getattr(scope.get("route"), "path", "unmatched"))
