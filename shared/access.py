"""Who may call what: one table per service, enforced for every route in one place.

Each service lists its routes with a `Rule`; `build_app` refuses to start when a route has none,
and the `authorize` dependency applies the rule to every call: the caller's token is verified,
its roles checked, and public routes are rate limited per client. What a caller may see inside
an allowed route (their own request, their village's) is the use case's business.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request, status
from fastapi.routing import APIRoute

from shared.auth import InvalidToken, Principal, Role, TokenVerifier
from shared.errors import ApiError

ANYONE: Final = frozenset(Role)
BEARER_SCHEME: Final = "bearerAuth"
_METHODS: Final = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


@dataclass(frozen=True)
class Rule:
    """Which roles may call a route, whether no token is fine, and its per-client limit."""

    roles: frozenset[Role]
    anonymous: bool = False
    rate_limit: str | None = None

    def allows(self, principal: Principal | None) -> bool:
        if principal is None:
            return self.anonymous
        return bool(principal.roles & self.roles) or (self.anonymous and not principal.roles)


def public(*, rate_limit: str | None = None) -> Rule:
    """Anyone, with or without a token."""
    return Rule(roles=ANYONE, anonymous=True, rate_limit=rate_limit)


def roles(*allowed: Role, anonymous: bool = False, rate_limit: str | None = None) -> Rule:
    """Only callers with one of `allowed`; also those without a token if `anonymous`."""
    return Rule(roles=frozenset(allowed), anonymous=anonymous, rate_limit=rate_limit)


AccessTable = Mapping[tuple[str, str], Rule]
"""Rules by (HTTP method, route path as declared, e.g. `/v1/requests/{request_id}`)."""

PROBES: Final[AccessTable] = {
    ("GET", "/healthz"): public(),
    ("GET", "/readyz"): public(),
    ("GET", "/metrics"): public(),
}
"""The routes every service has: probes and metrics, for the platform, without tokens."""


def route_keys(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app's API, as its OpenAPI document lists them.

    A route left out of the document is still refused by `authorize` unless it has a rule.
    """
    return [
        (method.upper(), path)
        for path, operations in app.openapi().get("paths", {}).items()
        for method in operations
        if method.upper() in _METHODS
    ]


def unruled_routes(app: FastAPI, table: AccessTable) -> list[tuple[str, str]]:
    return [key for key in route_keys(app) if key not in table]


@dataclass
class RateLimiter:
    """Token buckets per (limit, client), in this process's memory, bounded in size.

    `limits` gives each named limit its requests per minute. A full table forgets its least
    recently seen clients, so a flood of addresses costs memory up to `max_clients` only.
    """

    limits: Mapping[str, int]
    max_clients: int = 100_000
    _buckets: OrderedDict[tuple[str, str], tuple[float, float]] = field(default_factory=OrderedDict)

    def retry_after(self, limit: str, client: str, now: float | None = None) -> int | None:
        """Takes one token; None if there was one, else the seconds until there is."""
        per_minute = self.limits[limit]
        moment = time.monotonic() if now is None else now
        key = (limit, client)
        tokens, seen = self._buckets.pop(key, (float(per_minute), moment))
        tokens = min(float(per_minute), tokens + (moment - seen) * per_minute / 60)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, moment)
            self._forget_oldest()
            return None
        self._buckets[key] = (tokens, moment)
        return max(1, math.ceil((1 - tokens) * 60 / per_minute))

    def _forget_oldest(self) -> None:
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)


def client_address(request: Request, trusted_proxies: Iterable[str]) -> str:
    """The caller's address: the peer's, or the last hop a trusted proxy recorded."""
    peer = request.client.host if request.client else "unknown"
    if peer not in set(trusted_proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1][:64] if hops else peer


@dataclass(frozen=True)
class Access:
    """What `authorize` needs: the table, the verifier, the limits and the trusted proxies."""

    table: AccessTable
    verifier: TokenVerifier
    limiter: RateLimiter
    trusted_proxies: frozenset[str] = frozenset()


async def authorize(request: Request) -> Principal | None:
    """Applies the route's rule; the caller (None without a token) is kept on `request.state`."""
    access: Access = request.app.state.access
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    rule = access.table.get((request.method, path))
    principal = await _caller(request, access.verifier)
    if rule is None or not rule.allows(principal):
        if principal is None:
            raise _unauthenticated("Permintaan ini memerlukan token akses.")
        raise ApiError(
            status.HTTP_403_FORBIDDEN, "forbidden", "Anda tidak berhak atas layanan ini."
        )
    if rule.rate_limit is not None:
        client = client_address(request, access.trusted_proxies)
        wait = access.limiter.retry_after(rule.rate_limit, client)
        if wait is not None:
            raise ApiError(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "rate_limited",
                f"Terlalu banyak permintaan. Silakan coba lagi dalam {wait} detik.",
                {"Retry-After": str(wait)},
            )
    request.state.principal = principal
    return principal


async def _caller(request: Request, verifier: TokenVerifier) -> Principal | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("Header Authorization harus berbentuk 'Bearer <token>'.")
    try:
        return await verifier.verify(token.strip())
    except InvalidToken as exc:
        raise _unauthenticated(f"Token akses tidak sah: {exc}.") from None


def _unauthenticated(message: str) -> ApiError:
    return ApiError(
        status.HTTP_401_UNAUTHORIZED,
        "unauthenticated",
        message,
        {"WWW-Authenticate": 'Bearer realm="adminduk"'},
    )


def caller(request: Request) -> Principal | None:
    principal: Principal | None = request.state.principal
    return principal


CallerDep = Annotated[Principal | None, Depends(caller)]


_REFUSALS: Final = {
    status.HTTP_401_UNAUTHORIZED: "No token, or one that is expired, not yet valid, for another "
    "audience, from an untrusted issuer, or not signed by the issuer's current keys.",
    status.HTTP_403_FORBIDDEN: "The token's roles do not allow this, or it lacks the claim "
    "(village, service point) this needs.",
    status.HTTP_429_TOO_MANY_REQUESTS: "Too many calls from this client; try again after "
    "`Retry-After` seconds.",
}


def document_access(schema: dict[str, Any], table: AccessTable) -> None:
    """Adds each rule to the OpenAPI document: the bearer scheme, and the refusals it can give."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for (method, path), rule in table.items():
        operation = schema.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            continue
        statuses = [status.HTTP_401_UNAUTHORIZED]
        if rule.roles != ANYONE:
            statuses.append(status.HTTP_403_FORBIDDEN)
        if rule.rate_limit is not None:
            statuses.append(status.HTTP_429_TOO_MANY_REQUESTS)
        responses = operation.setdefault("responses", {})
        for code in statuses:
            responses.setdefault(str(code), _refusal(code))
        operation["security"] = ([{}] if rule.anonymous else []) + [{BEARER_SCHEME: []}]


def _refusal(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _REFUSALS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if code == status.HTTP_429_TOO_MANY_REQUESTS:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response
