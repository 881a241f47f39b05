"""The HTTP pieces every service's API shares: health probes, error bodies and a body size limit."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.metrics import HttpMetrics

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
Wiring = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, ReadinessCheck]]]
"""Connects a service's adapters, puts them on `app.state` and yields its readiness checks."""


def build_app(
    *, title: str, max_body_bytes: int, wiring: Wiring, routers: Sequence[APIRouter] = ()
) -> FastAPI:
    """A service's FastAPI app: health probes, error bodies, body limit, and its own routes."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with wiring(app) as checks:
            app.state.readiness = checks
            yield

    app = FastAPI(title=title, lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(HttpMetrics)
    install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics.router)
    for router in routers:
        app.include_router(router)
    return app


def health_router() -> APIRouter:
    """`/healthz` says the process is alive; `/readyz` says whether its dependencies answer."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        checks: Mapping[str, ReadinessCheck] = request.app.state.readiness
        results = {name: await check() for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready"}
            | {name: "ok" if ok else "unavailable" for name, ok in results.items()},
            status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    return router


def error_body(
    code: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, object]:
    body: dict[str, object] = {"error": code, "message": message}
    if details:
        body["details"] = details
    return body


_REASONS = {
    "json_invalid": "Isi permintaan bukan JSON yang valid.",
    "missing": "Wajib diisi.",
    "extra_forbidden": "Kolom ini tidak dikenal.",
    "string_too_short": "Terlalu pendek.",
    "string_too_long": "Terlalu panjang.",
    "string_type": "Harus berupa teks.",
    "model_attributes_type": "Isi permintaan harus berupa objek JSON.",
    "dict_type": "Isi permintaan harus berupa objek JSON.",
}


def _detail(error: Mapping[str, Any]) -> dict[str, str]:
    """One validation error as a field name and a reason a citizen can read."""
    location = [str(part) for part in error["loc"]]
    if location[:1] == ["body"]:
        location = location[1:]
    if error["type"] == "json_invalid":
        location = []
    if error["type"] == "enum":
        reason = f"Harus salah satu dari: {error.get('ctx', {}).get('expected', '')}."
    else:
        reason = _REASONS.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    return {"field": ".".join(location) or "body", "reason": reason}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse(
        error_body(
            "invalid_request",
            "Data permohonan tidak valid.",
            [_detail(error) for error in exc.errors()],
        ),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


class ApiError(Exception):
    """Raised by routes for a refusal a client can act on: a status, a stable code, a reason."""

    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code)


async def _storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unreachable while serving %s: %r", request.url.path, exc)
    return JSONResponse(
        error_body("unavailable", "Layanan sedang tidak tersedia. Silakan coba lagi."),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        error_body("internal_error", "Terjadi kesalahan pada sistem. Silakan coba lagi."),
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal and failure answers JSON with a stable code; none leaks internals."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ConnectionFailure, _storage_unavailable)
    app.add_exception_handler(Exception, _unexpected)


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, whether or not Content-Length is sent.

    The body is read here, up to the limit, and replayed to the app: API bodies are small.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        response = JSONResponse(
            error_body("body_too_large", f"Isi permintaan melebihi {self.max_bytes} byte."),
            status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        )
        await response(scope, _disconnected, send)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}
