"""Who is calling: bearer tokens (JWT) checked against the issuers a service trusts.

Staff, village operators and auditors bring tokens from the office's OpenID Connect provider;
citizens bring the short-lived tokens intake signs after a one-time code. A token is accepted only
with a signature from its issuer's current keys, the expected audience, and a valid time window;
the algorithm comes from the issuer's key, never from the token alone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm

from shared.identity import Principal, Role

log = logging.getLogger(__name__)

ALGORITHMS: Final = frozenset({"RS256", "PS256", "ES256", "EdDSA"})
"""Asymmetric algorithms only: a shared-secret or `none` token is never accepted."""
LEEWAY_S: Final = 30
REFRESH_INTERVAL_S: Final = 30.0
"""An unknown key id makes the keys be fetched again, at most this often, so forged key ids
cannot make a service hammer its provider."""
_VILLAGE = re.compile(r"^\d{10}$")
_SERVICE_POINT = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")


_ROLE_NAMES: Final = frozenset(role.value for role in Role)


class InvalidToken(Exception):
    """A token that proves nothing. The message says why in Indonesian, as the caller reads it,
    without the token's content."""


class KeySource(Protocol):
    async def key(self, key_id: str) -> PyJWK | None:
        """The issuer's verification key with this id, or None if it has none."""
        ...


@dataclass(frozen=True)
class StaticKeys:
    """Keys known in advance, e.g. the service's own signing key."""

    keys: Mapping[str, PyJWK]

    async def key(self, key_id: str) -> PyJWK | None:
        return self.keys.get(key_id)


class RemoteKeys:
    """An issuer's JWKS, fetched over HTTP and cached; fetched again for an unknown key id.

    Without `jwks_url`, the URL comes from the issuer's OpenID Connect discovery document.
    """

    def __init__(self, *, issuer: str, http: httpx.AsyncClient, jwks_url: str | None = None):
        self._issuer = issuer.rstrip("/")
        self._http = http
        self._jwks_url = jwks_url
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, key_id: str) -> PyJWK | None:
        if key_id in self._keys:
            return self._keys[key_id]
        async with self._lock:
            fresh = self._fetched_at is not None and (
                time.monotonic() - self._fetched_at < REFRESH_INTERVAL_S
            )
            if key_id not in self._keys and not fresh:
                await self._refresh()
        return self._keys.get(key_id)

    async def _refresh(self) -> None:
        try:
            url = self._jwks_url or await self._discover()
            response = await self._http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("could not fetch the keys of %s: %s", self._issuer, type(exc).__name__)
            raise InvalidToken("kunci penerbit token tidak dapat diambil saat ini") from None
        self._fetched_at = time.monotonic()
        self._keys = _usable_keys(document)

    async def _discover(self) -> str:
        response = await self._http.get(f"{self._issuer}/.well-known/openid-configuration")
        response.raise_for_status()
        url = response.json()["jwks_uri"]
        if not isinstance(url, str):
            raise TypeError("jwks_uri")
        self._jwks_url = url
        return url


def _usable_keys(document: Any) -> dict[str, PyJWK]:
    """The signing keys of a JWKS that have an id and an accepted algorithm."""
    keys: dict[str, PyJWK] = {}
    for jwk in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig" or "kid" not in jwk:
            continue
        try:
            key = PyJWK(jwk)
        except jwt.PyJWTError:
            continue
        if key.algorithm_name in ALGORITHMS:
            keys[str(jwk["kid"])] = key
    return keys


@dataclass(frozen=True)
class TrustedIssuer:
    """An issuer whose tokens a service accepts, and the roles it may grant."""

    issuer: str
    audience: str
    keys: KeySource
    grants: frozenset[Role]


def ed25519_key_id(key: Ed25519PublicKey) -> str:
    """A key's id in tokens and JWKS: its raw bytes' SHA-256, base64url without padding."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def citizen_issuer(key: Ed25519PublicKey, *, issuer: str, audience: str) -> TrustedIssuer:
    """Intake's tokens for citizens who proved their phone, checked with its public key and
    trusted as the citizen role only."""
    jwk = json.loads(OKPAlgorithm.to_jwk(key))
    key_id = ed25519_key_id(key)
    public = PyJWK({**jwk, "kid": key_id, "alg": "EdDSA", "use": "sig"})
    return TrustedIssuer(
        issuer=issuer,
        audience=audience,
        keys=StaticKeys({key_id: public}),
        grants=frozenset({Role.CITIZEN}),
    )


class TokenVerifier:
    """Turns a bearer token into a Principal, or refuses it with InvalidToken."""

    def __init__(self, issuers: Sequence[TrustedIssuer]) -> None:
        self._issuers = {issuer.issuer: issuer for issuer in issuers}

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidToken("token bukan JWT yang utuh") from None
        algorithm, key_id = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise InvalidToken("algoritme token tidak diterima")
        if not isinstance(key_id, str):
            raise InvalidToken("token tidak menyebut kuncinya")
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise InvalidToken("penerbit token tidak dipercaya")
        key = await issuer.keys.key(key_id)
        if key is None:
            raise InvalidToken("penerbit tidak memiliki kunci dengan id kunci token ini")
        if key.algorithm_name != algorithm:
            raise InvalidToken("algoritme token tidak cocok dengan kuncinya")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=issuer.audience,
                issuer=issuer.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token sudah kedaluwarsa") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token belum berlaku") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("token ditujukan untuk layanan lain") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("penerbit token tidak dipercaya") from None
        except jwt.PyJWTError:
            raise InvalidToken("tanda tangan atau klaim token tidak sah") from None
        return _principal(claims, issuer.grants)


def _principal(claims: Mapping[str, Any], grants: frozenset[Role]) -> Principal:
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("subjek token tidak sah")
    listed = claims.get("roles", [])
    if not isinstance(listed, list):
        raise InvalidToken("peran dalam token bukan daftar")
    roles = frozenset(Role(name) for name in listed if name in _ROLE_NAMES)
    village = _optional(claims, "village", _VILLAGE)
    service_point = _optional(claims, "service_point", _SERVICE_POINT)
    phone = claims.get("phone_number")
    name = claims.get("name")
    return Principal(
        subject=subject,
        roles=roles & grants,
        village=village,
        service_point=service_point,
        phone_number=phone if isinstance(phone, str) else None,
        name=name if isinstance(name, str) else None,
    )


def _optional(claims: Mapping[str, Any], name: str, pattern: re.Pattern[str]) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidToken(f"klaim {name} dalam token tidak sah")
    return value
