"""Prometheus metrics every service exposes on `/metrics`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EVENTS = Counter(
    "adminduk_events_total",
    "Events a consumer group took from Kafka, by type and outcome (handled, dead_lettered).",
    ["group", "type", "outcome"],
)
OUTBOX_PUBLISHED = Counter(
    "adminduk_outbox_published_total",
    "Outbox items published to Kafka, by collection.",
    ["collection"],
)
HTTP_REQUESTS = Histogram(
    "adminduk_http_request_duration_seconds",
    "HTTP requests by method, route template and status.",
    ["method", "route", "status"],
)

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
            await self.app(scope, receive, send_with_status)
        finally:
            HTTP_REQUESTS.labels(scope["method"], _route(scope), str(status)).observe(
                time.perf_counter() - started
            )


def _route(scope: Scope) -> str:
    """The template of the route that served the request, which routing leaves in the scope."""
    return str(getattr(scope.get("route"), "path", "unmatched"))
