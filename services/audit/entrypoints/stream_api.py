"""The auditors' live stream of the log as server-sent events.

Each entry is one event: `id` its index, type `entry`, `data` the JSON `GET /v1/audit/entries`
gives for it. A reconnecting client sends the last id it received as `Last-Event-ID` and gets
exactly the entries after it; one that cannot set headers passes `from` (the first index it
wants). The stream never ends by itself: the generic contract run leaves it out, and its own
tests send it hostile input (see `tests/e2e/test_audit_stream.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.audit.domain.stream import (
    FROM,
    HEARTBEAT,
    LAST_EVENT_ID,
    LAST_INDEX,
    InvalidResume,
    entry_event,
    first_index,
    reconnect_after,
)
from services.audit.entrypoints.api import EntryView
from services.audit.service_layer.stream import (
    Follower,
    Idle,
    LogFeed,
)
from shared.dependencies import context_of
from shared.errors import ApiError
from shared.http.error_bodies import error_response, error_responses

STREAM_PATH = "/v1/audit/stream"
EVENT_STREAM = "text/event-stream"
RECONNECT_MS = 3000
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""Proxies must pass each event on at once, and keep none of them."""

router = APIRouter(prefix="/v1/audit")


NO_FEED = "Aliran log tidak tersedia pada layanan ini."
"""An app wired without the process's feed serves no stream."""


@router.get(
    STREAM_PATH.removeprefix(router.prefix),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": (
                "Server-sent events, endless: `retry`, then per entry `id: <index>`, "
                "`event: entry` and `data:` the entry as `GET /v1/audit/entries` gives it, "
                "and a `: keep-alive` comment after each quiet `AUDIT_STREAM_HEARTBEAT_S`."
            ),
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        },
        422: error_response(
            422, "`Last-Event-ID` is not an index, or it or `from` lies past the end of the log."
        ),
        **error_responses(503),
    },
)
async def stream(
    request: Request,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=40,
            description="The index of the last entry received: the stream starts after it. "
            "Takes precedence over `from`.",
        ),
    ] = None,
    start: Annotated[
        int | None,
        Query(
            alias="from",
            ge=0,
            le=LAST_INDEX,
            description="The index of the first entry to send, for clients that cannot set "
            "`Last-Event-ID`. Without either, the stream starts at the end of the log.",
        ),
    ] = None,
) -> StreamingResponse:
    feed = context_of(request, LogFeed, code="stream_unavailable", message=NO_FEED)
    try:
        first = first_index(last_event_id=last_event_id, start=start)
        field = LAST_EVENT_ID if last_event_id else FROM
        follower = await feed.follow(first=first, field=field)
    except InvalidResume as refusal:
        raise ApiError(
            422,
            "invalid_request",
            "Titik lanjut aliran log tidak valid.",
            details={refusal.field: refusal.reason},
        ) from None
    return StreamingResponse(_events(follower), media_type=EVENT_STREAM, headers=STREAM_HEADERS)


async def _events(follower: Follower) -> AsyncIterator[str]:
    yield reconnect_after(RECONNECT_MS)
    async for item in follower:
        if isinstance(item, Idle):
            yield HEARTBEAT
        else:
            yield entry_event(item.index, EntryView.of(item).model_dump_json())
