"""The limits every request is read within: its body's size and pace, and its database work's
deadline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pymongo
from fastapi import status
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.access import (
    route_pattern,
)
from shared.errors import ApiError
from shared.http.error_bodies import error_body


@dataclass(frozen=True)
class StreamedBody:
    """The limits of a route that reads its body as it arrives (a file upload) instead of the
    usual small body buffered whole: its own size and time, both larger than the usual ones."""

    max_bytes: int
    timeout_s: float


class StreamedRoutes:
    """Tells, before routing does, whether a request is for one of the streamed routes."""

    def __init__(self, routes: Mapping[str, StreamedBody]) -> None:
        self._routes = [(re.compile(route_pattern(path)), body) for path, body in routes.items()]

    def match(self, path: str) -> StreamedBody | None:
        return next((body for pattern, body in self._routes if pattern.fullmatch(path)), None)


class RequestBody:
    """Reads the whole request body before the app sees it, within a size and a time limit.

    A body over `max_bytes` is refused with 413, whether or not Content-Length says so; one that
    has not fully arrived after `timeout_s` with 408, so a client that declares more than it sends
    cannot hold a connection and a worker. API bodies are small, so buffering them costs little.
    A streamed route's body is not buffered: the app reads it as it arrives, and reading past the
    route's own size or time raises the same refusals (`ApiError`), so the route stops early.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float,
        streamed: StreamedRoutes | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.streamed = streamed or StreamedRoutes({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if (streamed := self.streamed.match(scope["path"])) is not None:
            if declared.isdigit() and int(declared) > streamed.max_bytes:
                await self._refuse(scope, send, _too_large(streamed.max_bytes))
                return
            await self.app(scope, _metered(receive, streamed), send)
            return
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, _too_large(self.max_bytes))
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                body = await self._read(receive)
        except TimeoutError:
            await self._refuse(scope, send, _too_slow(self.timeout_s))
            return
        if body is None:
            await self._refuse(scope, send, _too_large(self.max_bytes))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The body, or None once it grows past the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, scope: Scope, send: Send, response: JSONResponse) -> None:
        await response(scope, _disconnected, send)


def _body_too_large(max_bytes: int) -> ApiError:
    return ApiError(
        status.HTTP_413_CONTENT_TOO_LARGE,
        "body_too_large",
        f"Isi permintaan melebihi {max_bytes} byte.",
    )


def _body_timeout(timeout_s: float) -> ApiError:
    return ApiError(
        status.HTTP_408_REQUEST_TIMEOUT,
        "body_timeout",
        f"Isi permintaan tidak selesai dikirim dalam {timeout_s:g} detik.",
        {"Connection": "close"},
    )


def _refusal(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message), status_code=error.status_code, headers=error.headers
    )


def _too_large(max_bytes: int) -> JSONResponse:
    return _refusal(_body_too_large(max_bytes))


def _too_slow(timeout_s: float) -> JSONResponse:
    return _refusal(_body_timeout(timeout_s))


def _metered(receive: Receive, limits: StreamedBody) -> Receive:
    """`receive` for a streamed body: raises 413 once the body grows past the route's size, 408
    once it takes longer than the route's time; after the body, passes messages on as they are."""
    deadline = asyncio.get_running_loop().time() + limits.timeout_s
    size = 0
    complete = False

    async def metered() -> Message:
        nonlocal size, complete
        if complete:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise _body_timeout(limits.timeout_s) from None
        if message["type"] != "http.request":
            complete = True
            return message
        size += len(message.get("body", b""))
        complete = not message.get("more_body", False)
        if size > limits.max_bytes:
            raise _body_too_large(limits.max_bytes)
        return message

    return metered


class DatabaseDeadline:
    """Gives the database work of one request a shared deadline of `timeout_s`.

    When the engine stops answering, a request then fails as unreachable (503 with Retry-After)
    within that time, instead of waiting on an open connection for as long as the outage lasts.
    A streamed route's deadline runs while the app works, not while it waits for the client's
    bytes: it starts again after each part of the body. Its work before and after the body is
    bounded as any other route's; a deadline stretched over the body's whole allowance let the
    driver retry one operation against a stalled engine for minutes, each failure clearing its
    connection pool again.
    """

    def __init__(
        self,
        app: ASGIApp,
        timeout_s: float,
        unbounded_paths: Collection[str] = (),
        streamed: StreamedRoutes | None = None,
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.unbounded_paths = frozenset(unbounded_paths)
        self.streamed = streamed or StreamedRoutes({})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.unbounded_paths:
            await self.app(scope, receive, send)
            return
        if self.streamed.match(scope["path"]) is None:
            with pymongo.timeout(self.timeout_s):
                await self.app(scope, receive, send)
            return
        deadline = _RestartingDeadline(self.timeout_s)

        async def receive_outside_deadline() -> Message:
            deadline.stop()
            try:
                return await receive()
            finally:
                deadline.start()

        deadline.start()
        try:
            await self.app(scope, receive_outside_deadline, send)
        finally:
            deadline.stop()


class _RestartingDeadline:
    """A driver deadline that can be stopped and started afresh within one request's task (the
    driver keeps it in context variables, which the app's awaits share)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._running: AbstractContextManager[None] | None = None

    def start(self) -> None:
        if self._running is None:
            self._running = pymongo.timeout(self._timeout_s)
            self._running.__enter__()

    def stop(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.__exit__(None, None, None)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}
