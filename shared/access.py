"""Who may call what: one table per service, enforced for every route in one place.

Each service lists its routes with a `Rule`; `build_app` refuses to start when a route has none,
and the `authorize` dependency applies the rule to every call: the caller's token is verified,
its roles checked, and public routes are rate limited per caller (staff by their own id, anyone
else by address), in counts every instance shares. What a caller may see inside
an allowed route (their own request, their village's) is the use case's business.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request, status
from fastapi.routing import APIRoute

from shared.auth import InvalidToken, TokenVerifier
from shared.clock import Clock, system_clock
from shared.counts import MINUTE, Counts, seconds_left, window_start
from shared.dependencies import context_of
from shared.errors import ApiError
from shared.identity import STAFF_ROLES, Principal, Role

ANYONE: Final = frozenset(Role)
BEARER_SCHEME: Final = "bearerAuth"
_METHODS: Final = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})
Proxies = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


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


def route_pattern(path: str) -> str:
    """A declared route path as a regular expression, each `{parameter}` one path segment."""
    return "[^/]+".join(re.escape(part) for part in re.split(r"\{[^}/]+\}", path))


def unruled_routes(app: FastAPI, table: AccessTable) -> list[tuple[str, str]]:
    return [key for key in route_keys(app) if key not in table]


STAFF_LIMIT: Final = "staff"
"""The one limit of a member of staff's calls to every limited route together."""
LEASE_SHARE: Final = 10
"""An instance takes a tenth of a limit at a time from the shared count and hands it out itself."""


@dataclass
class RequestLimits:
    """Fixed one-minute windows of calls per (limit, caller), counted in the shared store.

    `limits` gives each named limit its calls per minute. So that a caller's every call is not
    one more database command, an instance reserves a lease (a tenth of the limit) with one
    addition and serves it from memory; reserved calls count whether or not they are made, so
    every instance together never allows more than the limit (a caller spread over several
    instances may get a little less). Once the shared count is spent, the instance refuses
    that caller from memory until the minute ends. The table forgets its least recently used
    leases beyond `max_leases`, which costs only calls reserved and not made.
    """

    limits: Mapping[str, int]
    max_leases: int = 100_000
    _leases: OrderedDict[tuple[str, str, datetime], int] = field(default_factory=OrderedDict)
    """Calls left of each lease of this minute; 0 once the shared count is spent."""

    async def retry_after(
        self, limit: str, caller: str, *, counts: Counts, now: datetime
    ) -> int | None:
        """Takes one call; None if the caller had one left this minute, else the seconds until
        the next minute."""
        minute = window_start(now, MINUTE)
        self._forget(before=minute)
        lease_key = (limit, caller, minute)
        left = self._leases.pop(lease_key, None)
        if left is None:
            per_minute = self.limits[limit]
            lease = -(-per_minute // LEASE_SHARE)
            reserved = await counts.add(limit, caller, now=now, window=MINUTE, by=lease)
            granted = max(0, min(lease, per_minute - (reserved - lease)))
            left = granted + self._leases.pop(lease_key, 0)
        if left == 0:
            self._leases[lease_key] = 0
            return seconds_left(now, MINUTE)
        if left > 1:
            self._leases[lease_key] = left - 1
        return None

    def _forget(self, *, before: datetime) -> None:
        """Drops the leases of past minutes, and the least recently used beyond the bound."""
        while self._leases:
            oldest = next(iter(self._leases))
            if oldest[2] >= before and len(self._leases) < self.max_leases:
                return
            del self._leases[oldest]


def limited_as(
    rule_limit: str, request: Request, principal: Principal | None, trusted: Proxies
) -> tuple[str, str]:
    """The limit a call counts under, and whom it counts: a member of staff under `STAFF_LIMIT`
    by their own id, whatever the route and wherever they call from (an office's officers
    share one address); anyone else under the route's limit by address, an IPv6 address by its
    /64 (one subscriber's network, within which a client may take any address)."""
    if principal is not None and principal.roles & STAFF_ROLES:
        return STAFF_LIMIT, principal.subject
    address = client_address(request, trusted)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return rule_limit, address
    if isinstance(parsed, ipaddress.IPv6Address):
        if (mapped := parsed.ipv4_mapped) is not None:
            return rule_limit, str(mapped)
        return rule_limit, str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return rule_limit, str(parsed)


def client_address(request: Request, trusted: Proxies) -> str:
    """The caller's address: the peer's or, when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one too."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(peer, trusted):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


def _trusted(address: str, trusted: Proxies) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


@dataclass(frozen=True)
class Counting:
    """Where a service with limits counts calls, provided by its wiring: the
    store every instance shares, and the clock that tells the minute."""

    counts: Counts
    clock: Clock = system_clock


@dataclass(frozen=True)
class Access:
    """What `authorize` needs: the table, the verifier, the limits and the trusted proxies."""

    table: AccessTable
    verifier: TokenVerifier
    limits: RequestLimits
    trusted_proxies: Proxies = ()


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
        counting = context_of(request, Counting)
        limit, caller = limited_as(rule.rate_limit, request, principal, access.trusted_proxies)
        wait = await access.limits.retry_after(
            limit,
            caller,
            counts=counting.counts,
            now=counting.clock(),
        )
        if wait is not None:
            raise ApiError.retry_later(
                wait,
                "rate_limited",
                f"Terlalu banyak permintaan. Silakan coba lagi dalam {wait} detik.",
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


async def caller(request: Request) -> Principal | None:
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
        response["headers"] = retry_after_header(code)
    return response


def retry_after_header(status_code: int) -> dict[str, Any]:
    """The OpenAPI `headers` of a 429 or 503: the seconds to wait, at least one after a 429."""
    return {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {
                "type": "integer",
                "minimum": int(status_code == status.HTTP_429_TOO_MANY_REQUESTS),
            },
        }
    }
