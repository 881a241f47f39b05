"""Bearer tokens: what is accepted, and every way a token is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.auth import InvalidToken, RemoteKeys, TokenVerifier, TrustedIssuer
from shared.config import LOCAL_ISSUER
from shared.identity import STAFF_ROLES, Role
from tests.auth import AUDIENCE, KEY_ID, PRIVATE_KEY, STAFF_KEYS, claims_for, token

VERIFIER = TokenVerifier(
    [TrustedIssuer(issuer=LOCAL_ISSUER, audience=AUDIENCE, keys=STAFF_KEYS, grants=STAFF_ROLES)]
)


async def refused(raw: str) -> str:
    with pytest.raises(InvalidToken) as refusal:
        await VERIFIER.verify(raw)
    return str(refusal.value)


async def test_a_valid_token_gives_its_subject_roles_and_scope() -> None:
    principal = await VERIFIER.verify(token("village_operator", village="3516010001", name="Budi"))

    assert principal.subject == "village_operator-1"
    assert principal.roles == {Role.VILLAGE_OPERATOR}
    assert principal.village == "3516010001"
    assert principal.name == "Budi"


async def test_an_expired_token_is_refused() -> None:
    now = datetime.now(UTC)
    raw = token("verifier", exp=now - timedelta(minutes=5), iat=now - timedelta(minutes=10))

    assert "kedaluwarsa" in await refused(raw)


async def test_a_token_not_valid_yet_is_refused() -> None:
    raw = token("verifier", nbf=datetime.now(UTC) + timedelta(minutes=5))

    assert "belum berlaku" in await refused(raw)


async def test_a_token_for_another_audience_is_refused() -> None:
    assert "layanan lain" in await refused(token("verifier", aud="another-app"))


async def test_a_token_from_another_issuer_is_refused() -> None:
    assert "tidak dipercaya" in await refused(token("verifier", iss="https://evil.example"))


async def test_a_token_signed_by_an_unknown_key_is_refused() -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())

    assert "tidak memiliki kunci" in await refused(token("verifier", key=stranger, kid="other-key"))


async def test_a_token_signed_by_another_key_under_a_known_key_id_is_refused() -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())

    assert "tanda tangan" in await refused(token("verifier", key=stranger, kid=KEY_ID))


async def test_an_unsigned_token_is_refused() -> None:
    header = {"alg": "none", "typ": "JWT", "kid": KEY_ID}
    claims = {key: _json_time(value) for key, value in claims_for("admin").items()}
    raw = f"{_b64(header)}.{_b64(claims)}."

    assert "algoritme" in await refused(raw)


async def test_a_token_with_a_changed_claim_is_refused() -> None:
    header, _, signature = token("verifier").split(".")
    claims = {key: _json_time(value) for key, value in claims_for("admin").items()}

    assert "tanda tangan" in await refused(f"{header}.{_b64(claims)}.{signature}")


async def test_a_shared_secret_token_keyed_with_the_public_key_is_refused() -> None:
    """The old algorithm-confusion attack: HS256 with the published key as the secret."""
    published = ECAlgorithm.to_jwk(PRIVATE_KEY.public_key()).encode()
    claims = {key: _json_time(value) for key, value in claims_for("admin").items()}
    signed = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': KEY_ID})}.{_b64(claims)}"
    mac = hmac.new(published, signed.encode(), hashlib.sha256).digest()
    raw = f"{signed}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    assert "algoritme" in await refused(raw)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x", "...", "eyJ9.e30.x"])
async def test_garbage_is_refused(garbage: str) -> None:
    assert await refused(garbage)


async def test_a_token_without_a_subject_is_refused() -> None:
    claims = claims_for("verifier")
    del claims["sub"]
    raw = jwt.encode(claims, PRIVATE_KEY, algorithm="ES256", headers={"kid": KEY_ID})

    assert await refused(raw)


async def test_unknown_roles_and_roles_the_issuer_may_not_grant_are_dropped() -> None:
    principal = await VERIFIER.verify(token("verifier", roles=["verifier", "citizen", "root"]))

    assert principal.roles == {Role.VERIFIER}


@pytest.mark.parametrize(
    ("claim", "value"), [("village", "35160"), ("village", 3516010001), ("service_point", "a b")]
)
async def test_a_malformed_scope_claim_is_refused(claim: str, value: Any) -> None:
    assert claim in await refused(token("village_operator", **{claim: value}))


class Jwks:
    """An issuer's discovery document and JWKS over HTTP, counting fetches."""

    def __init__(self, *keys: tuple[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"jwks_uri": "https://idp.test/certs"})
        self.fetches += 1
        jwks = [
            {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256"}
            for kid, key in self.keys
        ]
        return httpx.Response(200, json={"keys": jwks})


def rsa_token(key: Any, kid: str) -> str:
    claims = claims_for("auditor", iss="https://idp.test")
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_remote_keys_are_found_through_discovery_cached_and_refreshed_for_a_new_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    second = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = Jwks(("k1", first))
    clock = [1000.0]
    monkeypatch.setattr("shared.auth.time.monotonic", lambda: clock[0])
    async with httpx.AsyncClient(transport=httpx.MockTransport(jwks.handler)) as http:
        keys = RemoteKeys(issuer="https://idp.test", http=http)
        verifier = TokenVerifier(
            [TrustedIssuer("https://idp.test", AUDIENCE, keys, grants=STAFF_ROLES)]
        )

        await verifier.verify(rsa_token(first, "k1"))
        await verifier.verify(rsa_token(first, "k1"))
        assert jwks.fetches == 1

        jwks.keys.append(("k2", second))
        with pytest.raises(InvalidToken):
            await verifier.verify(rsa_token(second, "k2"))  # refreshed too recently
        clock[0] += 31
        principal = await verifier.verify(rsa_token(second, "k2"))

    assert principal.roles == {Role.AUDITOR}
    assert jwks.fetches == 2


async def test_an_unreachable_issuer_refuses_the_token_without_a_crash() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as http:
        keys = RemoteKeys(issuer="https://idp.test", http=http)
        verifier = TokenVerifier(
            [TrustedIssuer("https://idp.test", AUDIENCE, keys, grants=STAFF_ROLES)]
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        with pytest.raises(InvalidToken, match="tidak dapat diambil"):
            await verifier.verify(rsa_token(key, "k1"))


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _json_time(value: Any) -> Any:
    return int(value.timestamp()) if isinstance(value, datetime) else value
