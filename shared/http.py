"""The HTTP pieces every service's API shares: health probes, error bodies and request limits.

Every 4xx and 5xx answer of every service has one shape, `ErrorBody`, and each route documents the
statuses it can answer in its OpenAPI document (`error_responses`), so a client can rely on both.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pymongo
from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import metrics
from shared.access import (
    PROBES,
    Access,
    AccessTable,
    RequestLimits,
    authorize,
    document_access,
    retry_after_header,
    unruled_routes,
)
from shared.admission import EngineAdmission, EngineGate
from shared.auth import KeySource, RemoteKeys, TokenVerifier, TrustedIssuer
from shared.config import ServiceSettings
from shared.errors import ApiError, Kind, Refusal
from shared.identity import STAFF_ROLES
from shared.metrics import HttpMetrics

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
Responses = dict[int | str, dict[str, Any]]
RETRY_AFTER_S = 5
Wiring = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, ReadinessCheck]]]
"""Connects a service's adapters, puts them on `app.state` and yields its readiness checks."""


@dataclass(frozen=True)
class StreamedBody:
    """The limits of a route that reads its body as it arrives (a file upload) instead of the
    usual small body buffered whole: its own size and time, both larger than the usual ones."""

    max_bytes: int
    timeout_s: float


def build_app(
    *,
    title: str,
    settings: ServiceSettings,
    wiring: Wiring,
    access: AccessTable,
    routers: Sequence[APIRouter] = (),
    unbounded_paths: Collection[str] = (),
    streamed_routes: Mapping[str, StreamedBody] | None = None,
    rate_limits: Mapping[str, int] | None = None,
    extra_issuers: Sequence[TrustedIssuer] = (),
    staff_keys: KeySource | None = None,
) -> FastAPI:
    """A service's FastAPI app: health probes, error bodies, request limits, access rules, and
    its own routes.

    Every route needs a rule in `access` (the probes have theirs): an app with a route that has
    none is refused here, so no route is ever open by omission. Staff tokens are checked against
    the configured OpenID Connect issuer (its JWKS, unless `staff_keys` are given), plus
    `extra_issuers`.
    `unbounded_paths` are routes whose database work may take longer than the usual deadline.
    `streamed_routes` (by route path as declared, `/v1/requests/{request_id}/documents`) read their
    body as a stream within their own limits; every other route keeps the usual ones.
    """
    settings.check_production()
    keys_client = httpx.AsyncClient(timeout=5.0)
    staff = TrustedIssuer(
        issuer=settings.issuer,
        audience=settings.oidc_audience,
        keys=staff_keys
        or RemoteKeys(issuer=settings.issuer, http=keys_client, jwks_url=settings.oidc_jwks_url),
        grants=STAFF_ROLES,
    )
    table = {**PROBES, **access}

    gate = EngineGate(settings.max_concurrent_requests)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with wiring(app) as checks:
                app.state.readiness = checks
                if (ping := checks.get("mongo")) is not None:
                    gate.watch_with(ping)
                yield
        finally:
            await gate.close()
            await keys_client.aclose()

    app = FastAPI(
        title=title,
        lifespan=lifespan,
        responses=error_responses(500),
        dependencies=[Depends(authorize)],
    )
    app.state.exit_hooks = []
    """Called as soon as the process is told to stop (`shared.runtime.serve`), before open
    connections are waited for: what keeps a response open (a stream) ends it then."""
    app.state.access = Access(
        table=table,
        verifier=TokenVerifier([staff, *extra_issuers]),
        limits=RequestLimits(dict(rate_limits or {})),
        trusted_proxies=settings.proxies,
    )
    app.state.engine_gate = gate
    streamed = StreamedRoutes(streamed_routes or {})
    app.add_middleware(
        DatabaseDeadline,
        timeout_s=settings.database_timeout_s,
        unbounded_paths=unbounded_paths,
        streamed=streamed,
    )
    long_routes = frozenset(unbounded_paths)
    app.add_middleware(
        EngineAdmission,
        gate=gate,
        passing=UNGATED_PATHS,
        uncounted=lambda path: path in long_routes or streamed.match(path) is not None,
        refusal=lambda: _refused(stalled=gate.stalled),
    )
    app.add_middleware(
        RequestBody,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        streamed=streamed,
    )
    app.add_middleware(HttpMetrics)
    install_error_handlers(app)
    app.include_router(health_router())
    app.include_router(metrics.router)
    for router in routers:
        app.include_router(router)
    _document(app, table)
    if missing := unruled_routes(app, table):
        raise RuntimeError(f"routes without an access rule: {missing}")
    return app


UNGATED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Answered whatever the load: they do no engine work a request would wait for."""


def _document(app: FastAPI, table: AccessTable) -> None:
    """Puts the access rules into the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            document_access(schema, table)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def health_router() -> APIRouter:
    """`/healthz` says the process is alive; `/readyz` says whether its dependencies answer."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=dict[str, str],
        responses=error_responses(503),
        description="`status` is `ready`, and each dependency checked is `ok`.",
    )
    async def readyz(request: Request) -> JSONResponse:
        checks: Mapping[str, ReadinessCheck] = request.app.state.readiness
        results = {name: await check() for name, check in checks.items()}
        failing = [name for name, ok in results.items() if not ok]
        if failing:
            return unavailable(
                "not_ready",
                "Layanan belum siap: ada bagian yang tidak menjawab.",
                [ErrorDetail(field=name, reason="Tidak menjawab.") for name in failing],
            )
        return JSONResponse({"status": "ready"} | dict.fromkeys(results, "ok"))

    return router


class ErrorDetail(BaseModel):
    """One thing a request got wrong."""

    field: str = Field(
        description="What it is about: a body field (`nik`), the whole `body`, a parameter "
        "(`query.limit`, `path.request_id`, `header.idempotency-key`) or, from `/readyz`, "
        "a dependency (`kafka`)."
    )
    reason: str = Field(description="Why, in plain Indonesian.")


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer of every service."""

    error: str = Field(
        description="Stable code to act on, e.g. `invalid_request`, `not_found`, `unavailable`."
    )
    message: str = Field(description="What happened, in plain Indonesian.")
    details: list[ErrorDetail] = Field(
        default=[], description="What was wrong, item by item; absent when there is nothing to add."
    )


def error_body(code: str, message: str, details: Sequence[ErrorDetail] = ()) -> dict[str, object]:
    """An `ErrorBody` as JSON, built through the model so no answer can drift from its schema."""
    body = ErrorBody(error=code, message=message, details=list(details))
    return body.model_dump(exclude_defaults=True)


def unavailable(code: str, message: str, details: Sequence[ErrorDetail] = ()) -> JSONResponse:
    """A 503 that says when to try again."""
    return JSONResponse(
        error_body(code, message, details),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


_DESCRIPTIONS = {
    404: "Nothing has this id.",
    409: "The request conflicts with one made before.",
    408: "The body did not fully arrive within the service's BODY_TIMEOUT_S.",
    413: "The body is longer than the service's MAX_BODY_BYTES.",
    422: "The request does not fit this document, or a rule described here refuses it; "
    "`details` names each field and why.",
    500: "An unexpected failure; the body reveals nothing of it.",
    503: "A dependency (the database, Kafka) does not answer; try again after `Retry-After`.",
}


def error_response(status_code: int, description: str | None = None) -> dict[str, Any]:
    """One status a route can answer with `ErrorBody`, for its OpenAPI `responses`."""
    response: dict[str, Any] = {
        "model": ErrorBody,
        "description": description or _DESCRIPTIONS[status_code],
    }
    if status_code in (status.HTTP_429_TOO_MANY_REQUESTS, status.HTTP_503_SERVICE_UNAVAILABLE):
        response["headers"] = retry_after_header(status_code)
    return response


def error_responses(*status_codes: int) -> Responses:
    """The statuses a route can answer with `ErrorBody`, described as every route describes them."""
    return {status_code: error_response(status_code) for status_code in status_codes}


_REASONS = {
    "json_invalid": "Isi permintaan bukan JSON yang valid.",
    "missing": "Wajib diisi.",
    "extra_forbidden": "Kolom ini tidak dikenal.",
    "string_too_short": "Terlalu pendek.",
    "string_too_long": "Terlalu panjang.",
    "string_type": "Harus berupa teks.",
    "string_unicode": "Harus berupa teks Unicode yang sah.",
    "string_pattern_mismatch": "Formatnya tidak sesuai.",
    "bool_type": "Harus berupa true atau false.",
    "int_type": "Harus berupa bilangan bulat.",
    "int_parsing": "Harus berupa bilangan bulat.",
    "int_from_float": "Harus berupa bilangan bulat.",
    "uuid_type": "Harus berupa UUID, misalnya 3f0c9a34-7d2e-4b8a-9c1d-2e5f6a7b8c9d.",
    "uuid_parsing": "Harus berupa UUID, misalnya 3f0c9a34-7d2e-4b8a-9c1d-2e5f6a7b8c9d.",
    "model_attributes_type": "Isi permintaan harus berupa objek JSON.",
    "dict_type": "Isi permintaan harus berupa objek JSON.",
}
_BOUNDS = {"greater_than_equal": ("ge", "Paling kecil"), "less_than_equal": ("le", "Paling besar")}
_MAX_FIELD_CHARS = 100


def _detail(error: Mapping[str, Any]) -> ErrorDetail:
    """One validation error as a field name and a reason a citizen can read."""
    location = [str(part) for part in error["loc"]]
    if location[:1] == ["body"]:
        location = location[1:]
    if error["type"] == "json_invalid":
        location = []
    context = error.get("ctx", {})
    if error["type"] == "enum":
        reason = f"Harus salah satu dari: {context.get('expected', '')}."
    elif error["type"] in _BOUNDS:
        bound, wording = _BOUNDS[error["type"]]
        reason = f"{wording} {context.get(bound)}."
    elif error["type"] == "value_error":
        reason = str(error["msg"]).removeprefix("Value error, ")
    else:
        reason = _REASONS.get(error["type"], "Nilainya tidak valid.")
    return ErrorDetail(field=_field_name(location), reason=reason)


def _field_name(location: list[str]) -> str:
    """The field's path, short and encodable whatever keys the client sent."""
    name = ".".join(location) or "body"
    return name[:_MAX_FIELD_CHARS].encode("utf-8", "replace").decode()


def _invalid_request(details: Sequence[ErrorDetail]) -> JSONResponse:
    return JSONResponse(
        error_body("invalid_request", "Data permohonan tidak valid.", details),
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _invalid_request([_detail(error) for error in exc.errors()])


_HTTP_ERRORS = {
    status.HTTP_404_NOT_FOUND: ("not_found", "Alamat ini tidak ada."),
    status.HTTP_405_METHOD_NOT_ALLOWED: (
        "method_not_allowed",
        "Metode HTTP ini tidak dilayani di alamat ini.",
    ),
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing refusals (unknown path, wrong method) and unreadable bodies, in the one shape.

    FastAPI refuses a body it cannot decode (not UTF-8, nested past the recursion limit, an
    integer past Python's digit limit) with a bare 400 raised from the decoding error; that is
    invalid input like any other, so it is a 422 that says what is wrong.
    """
    assert isinstance(exc, HTTPException)
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        return _invalid_request([ErrorDetail(field="body", reason=_unreadable(exc.__cause__))])
    code, message = _HTTP_ERRORS.get(
        exc.status_code, ("http_error", "Permintaan ini tidak dapat dilayani.")
    )
    headers = dict(exc.headers or {})
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_allowed_methods(request.app, request.url.path))
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API document gives the path, whichever of its routes routing tried
    first (Starlette names only that route's methods)."""
    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "allowed_methods", None
    )
    if patterns is None:
        patterns = [
            (re.compile(_path_pattern(template)), [method.upper() for method in operations])
            for template, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.allowed_methods = patterns
    return sorted({m for pattern, methods in patterns if pattern.fullmatch(path) for m in methods})


def _unreadable(cause: BaseException | None) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return "Isi permintaan harus berupa teks UTF-8."
    if isinstance(cause, RecursionError):
        return "Isi permintaan bersarang terlalu dalam."
    if isinstance(cause, ValueError):
        return "Isi permintaan memuat angka yang terlalu panjang."
    return _REASONS["json_invalid"]


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(
            exc.code,
            exc.message,
            [ErrorDetail(field=field, reason=reason) for field, reason in exc.details.items()],
        ),
        status_code=exc.status_code,
        headers=exc.headers,
    )


STATUS_OF_KIND = {
    Kind.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    Kind.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    Kind.CONFLICT: status.HTTP_409_CONFLICT,
    Kind.INVALID: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Kind.UNAVAILABLE: status.HTTP_503_SERVICE_UNAVAILABLE,
    Kind.LIMITED: status.HTTP_429_TOO_MANY_REQUESTS,
}
"""The one place a refusal's kind becomes an HTTP status."""


async def _domain_refusal(request: Request, exc: Exception) -> JSONResponse:
    """A domain or use-case refusal as an answer: its kind's status, its code and message, its
    fields, and for a refusal that passes, `Retry-After` (RETRY_AFTER_S unless it says)."""
    assert isinstance(exc, Refusal)
    headers: dict[str, str] = {}
    retry_after_s = exc.retry_after_s
    if retry_after_s is None and exc.kind is Kind.UNAVAILABLE:
        retry_after_s = RETRY_AFTER_S
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    return JSONResponse(
        error_body(
            exc.code,
            exc.message,
            [ErrorDetail(field=field, reason=reason) for field, reason in exc.details.items()],
        ),
        status_code=STATUS_OF_KIND[exc.kind],
        headers=headers,
    )


async def _storage_failure(request: Request, exc: Exception) -> JSONResponse:
    """Unreachable or too slow is a 503 to try again later, and new work waits until the
    database answers again; any other database error is a 500."""
    assert isinstance(exc, PyMongoError)
    if not (isinstance(exc, ConnectionFailure) or exc.timeout):
        return await _unexpected(request, exc)
    log.warning("database unreachable while serving %s: %r", request.url.path, exc)
    request.app.state.engine_gate.timed_out()
    return _refused(stalled=True)


def _refused(*, stalled: bool) -> JSONResponse:
    if stalled:
        return unavailable("unavailable", "Layanan sedang tidak tersedia. Silakan coba lagi.")
    return unavailable("busy", "Layanan sedang sibuk. Silakan coba lagi sebentar lagi.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        error_body("internal_error", "Terjadi kesalahan pada sistem. Silakan coba lagi."),
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal and failure answers JSON with a stable code; none leaks internals."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Refusal, _domain_refusal)
    app.add_exception_handler(PyMongoError, _storage_failure)
    app.add_exception_handler(Exception, _unexpected)


class StreamedRoutes:
    """Tells, before routing does, whether a request is for one of the streamed routes."""

    def __init__(self, routes: Mapping[str, StreamedBody]) -> None:
        self._routes = [(re.compile(_path_pattern(path)), body) for path, body in routes.items()]

    def match(self, path: str) -> StreamedBody | None:
        return next((body for pattern, body in self._routes if pattern.fullmatch(path)), None)


def _path_pattern(path: str) -> str:
    """A declared route path as a regular expression, each `{parameter}` one path segment."""
    return "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}/]+\}", path))


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
    A streamed route, whose database work happens while its body arrives, has the time its body
    may take added.
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
        streamed = self.streamed.match(scope["path"])
        extra = 0.0 if streamed is None else streamed.timeout_s
        with pymongo.timeout(self.timeout_s + extra):
            await self.app(scope, receive, send)


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}
