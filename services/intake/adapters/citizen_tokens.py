"""The tokens intake signs for citizens who proved their phone number with a one-time code.

Ed25519 (EdDSA) signatures. The key comes from INTAKE_CITIZEN_SIGNING_KEY (PEM) in production;
locally, from a seed made once under the local secrets folder. Only intake accepts these tokens,
and only as the citizen role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import TrustedIssuer, citizen_issuer, ed25519_key_id
from shared.crypto import Cipher
from shared.identity import Role

LIFETIME = timedelta(minutes=15)
SUBJECT_PURPOSE = "citizen-subject"


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """A PEM private key, or a 64-hex-character seed."""
    if text.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("INTAKE_CITIZEN_SIGNING_KEY must be an Ed25519 private key")
        return key
    try:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text.strip()))
    except ValueError:
        raise ValueError("INTAKE_CITIZEN_SIGNING_KEY is neither PEM nor a 64-hex seed") from None


class CitizenTokenSigner:
    """Signs citizens' tokens, and says how to check them."""

    def __init__(
        self,
        *,
        key: Ed25519PrivateKey,
        issuer: str,
        audience: str,
        subject_of: Callable[[str], str],
    ) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._subject_of = subject_of
        self.key_id = ed25519_key_id(key.public_key())

    def issue(self, *, phone: str, now: datetime) -> tuple[str, int]:
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": self._subject_of(phone),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + LIFETIME).timestamp()),
            "jti": str(uuid.uuid4()),
            "roles": [Role.CITIZEN.value],
            "phone_number": phone,
        }
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.key_id})
        return token, int(LIFETIME.total_seconds())

    def trusted_issuer(self) -> TrustedIssuer:
        return citizen_issuer(self._key.public_key(), issuer=self._issuer, audience=self._audience)


def citizen_subject(cipher: Cipher, phone: str) -> str:
    """A citizen's stable, opaque id: a keyed hash of their phone number."""
    return "citizen-" + cipher.lookup_hash(phone, purpose=SUBJECT_PURPOSE)[:32]
