"""A service's FastAPI app assembled the one way: health probes, access rules, request limits,
error bodies and its own routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from shared import metrics
from shared.access import (
    PROBES,
    Access,
    AccessTable,
    RequestLimits,
    authorize,
    document_access,
    unruled_routes,
)
from shared.admission import EngineAdmission, EngineGate
from shared.auth import KeySource, RemoteKeys, TokenVerifier, TrustedIssuer
from shared.config import ServiceSettings
from shared.http.error_bodies import (
    ErrorDetail,
    engine_refused,
    error_responses,
    install_error_handlers,
    unavailable,
)
from shared.http.middleware import DatabaseDeadline, RequestBody, StreamedBody, StreamedRoutes
from shared.identity import STAFF_ROLES
from shared.metrics import HttpMetrics

ReadinessCheck = Callable[[], Awaitable[bool]]
Wiring = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, ReadinessCheck]]]
"""Connects a service's adapters, puts them on `app.state` and yields its readiness checks."""


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
    table = {**PROBES, **access}
    gate = EngineGate(settings.max_concurrent_requests)
    app = FastAPI(
        title=title,
        lifespan=_lifespan(wiring, gate=gate, keys_client=keys_client),
        responses=error_responses(500),
        dependencies=[Depends(authorize)],
    )
    app.state.exit_hooks = []
    """Called as soon as the process is told to stop (`shared.runtime.serve`), before open
    connections are waited for: what keeps a response open (a stream) ends it then."""
    app.state.access = Access(
        table=table,
        verifier=TokenVerifier(
            [_staff_issuer(settings, keys=staff_keys, keys_client=keys_client), *extra_issuers]
        ),
        limits=RequestLimits(dict(rate_limits or {})),
        trusted_proxies=settings.proxies,
    )
    app.state.engine_gate = gate
    _add_middleware(
        app,
        settings=settings,
        gate=gate,
        unbounded_paths=unbounded_paths,
        streamed=StreamedRoutes(streamed_routes or {}),
    )
    install_error_handlers(app)
    _include_routes(app, routers)
    _document(app, table)
    if missing := unruled_routes(app, table):
        raise RuntimeError(f"routes without an access rule: {missing}")
    return app


def _staff_issuer(
    settings: ServiceSettings, *, keys: KeySource | None, keys_client: httpx.AsyncClient
) -> TrustedIssuer:
    """The configured OpenID Connect issuer of staff tokens; its JWKS unless `keys` are given."""
    return TrustedIssuer(
        issuer=settings.issuer,
        audience=settings.oidc_audience,
        keys=keys
        or RemoteKeys(issuer=settings.issuer, http=keys_client, jwks_url=settings.oidc_jwks_url),
        grants=STAFF_ROLES,
    )


def _lifespan(
    wiring: Wiring, *, gate: EngineGate, keys_client: httpx.AsyncClient
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Runs the service's wiring for the app's life, the gate watching Mongo if it is checked;
    closes the gate and the key client however the wiring ends."""

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

    return lifespan


def _add_middleware(
    app: FastAPI,
    *,
    settings: ServiceSettings,
    gate: EngineGate,
    unbounded_paths: Collection[str],
    streamed: StreamedRoutes,
) -> None:
    """Metrics and the request limits, from the outermost (added last): metrics, the body's
    limits, engine admission, the database deadline."""
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
        refusal=lambda: engine_refused(stalled=gate.stalled),
    )
    app.add_middleware(
        RequestBody,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        streamed=streamed,
    )
    app.add_middleware(HttpMetrics)


def _include_routes(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """The health probes and metrics every service answers, then the service's own routes."""
    app.include_router(health_router())
    app.include_router(metrics.router)
    for router in routers:
        app.include_router(router)


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
