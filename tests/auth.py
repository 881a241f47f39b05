"""Tokens for tests: a staff issuer with its own key, trusted by apps built with `STAFF_KEYS`."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt import PyJWK
from jwt.algorithms import ECAlgorithm

from shared.auth import StaticKeys
from shared.config import LOCAL_ISSUER

AUDIENCE = "adminduk"
KEY_ID = "test-key"
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
STAFF_KEYS = StaticKeys(
    {
        KEY_ID: PyJWK(
            {**json.loads(ECAlgorithm.to_jwk(PRIVATE_KEY.public_key())), "kid": KEY_ID},
            algorithm="ES256",
        )
    }
)


TOKEN_LIFETIME = timedelta(hours=2)
"""Longer than a real access token: modules make tokens when imported, and the whole suite runs
for many minutes before some of them are used."""


def claims_for(role: str | None, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": AUDIENCE,
        "sub": f"{role}-1",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": str(uuid.uuid4()),
        "roles": [] if role is None else [role],
    }
    return claims | extra


def token(role: str | None, *, key: Any = PRIVATE_KEY, kid: str = KEY_ID, **claims: Any) -> str:
    """An ES256 token of the test issuer; `claims` replace or add claims."""
    return jwt.encode(claims_for(role, **claims), key, algorithm="ES256", headers={"kid": kid})


def bearer(role: str | None, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **claims)}"}
