"""The one shape of every 4xx and 5xx answer, and the handlers that give every refusal and failure
that shape.

Each route documents the statuses it can answer in its OpenAPI document (`error_responses`), so a
client can rely on both; a `Refusal`'s kind becomes its status here and nowhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from shared.access import (
    retry_after_header,
    route_pattern,
)
from shared.errors import ApiError, Kind, Refusal
from shared.transient import is_transient, past_deadline

log = logging.getLogger(__name__)


Responses = dict[int | str, dict[str, Any]]


RETRY_AFTER_S = 5


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
            (re.compile(route_pattern(template)), [method.upper() for method in operations])
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
    database answers again; an error that passes by itself (a write conflict, a cursor the
    engine lost) is a 503 too; any other database error is a 500, logged."""
    assert isinstance(exc, PyMongoError)
    if isinstance(exc, ConnectionFailure) or past_deadline(exc):
        log.warning("database unreachable while serving %s: %r", request.url.path, exc)
        request.app.state.engine_gate.timed_out()
        return engine_refused(stalled=True)
    if is_transient(exc):
        log.warning("database busy while serving %s: %r", request.url.path, exc)
        return engine_refused(stalled=False)
    log.error("database failure while serving %s", request.url.path, exc_info=exc)
    return await _unexpected(request, exc)


def engine_refused(*, stalled: bool) -> JSONResponse:
    """The 503 of work the engine cannot take now: stalled (unreachable) or merely busy."""
    if stalled:
        return unavailable("unavailable", "Layanan sedang tidak tersedia. Silakan coba lagi.")
    return unavailable("busy", "Layanan sedang sibuk. Silakan coba lagi sebentar lagi.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        error_body("internal_error", "Terjadi kesalahan pada sistem. Silakan coba lagi."),
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


async def _client_gone(request: Request, exc: Exception) -> JSONResponse:
    """A client that hung up while sending its body (gave up, or its connection was cut) is not
    a failure of the service: nothing of the request was stored, and it hears no answer."""
    return JSONResponse(
        error_body("client_disconnected", "Permintaan terputus sebelum isinya diterima."),
        status_code=status.HTTP_400_BAD_REQUEST,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal and failure answers JSON with a stable code; none leaks internals."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Refusal, _domain_refusal)
    app.add_exception_handler(PyMongoError, _storage_failure)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
