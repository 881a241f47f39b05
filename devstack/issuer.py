"""A small OpenID Connect token issuer for local runs and tests, so they need no identity provider.

It keeps one RSA key in an owner-only folder and serves what a verifier needs to check its tokens:
the discovery document at `/.well-known/openid-configuration` and the public key at `/jwks.json`.
Tokens are not handed out over HTTP: `mint` signs them in-process, and `python -m devstack token`
prints one for a role, with the key of the issuer it asks at `/local/signing-key` where its key
folder is (a path on this machine, not the key: the file is its owner's alone).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import stat
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from devstack.process import StartupError

ROLES = (
    "citizen",
    "village_operator",
    "counter_officer",
    "verifier",
    "operator",
    "signer",
    "supervisor",
    "letter_clerk",
    "auditor",
    "admin",
)
DEFAULT_AUDIENCE = "adminduk"
DEFAULT_PORT = 8010
ALGORITHM = "RS256"
PRIVATE_KEY_FILE = "private_key.pem"
KEY_BITS = 2048


class InsecureKeyFile(StartupError):
    """The private key file can be read or written by users other than its owner."""


class IssuerKeyNotFound(StartupError):
    """No issuer answers where a token was asked for, or its key is not where it says."""


@dataclass(frozen=True)
class SigningKeys:
    """The issuer's private key and its key id, the RFC 7638 thumbprint of the public key."""

    private_key: rsa.RSAPrivateKey
    kid: str

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK, as `/jwks.json` serves it."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
            "n": _b64_uint(numbers.n),
            "e": _b64_uint(numbers.e),
        }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_uint(value: int) -> str:
    """An unsigned integer as base64url of its shortest big-endian bytes (RFC 7518 section 6.3)."""
    return _b64url(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 thumbprint of an RSA JWK: base64url SHA-256 of its required members in order."""
    if jwk.get("kty") != "RSA":
        raise ValueError(f"only RSA keys are supported, not {jwk.get('kty')!r}")
    canonical = json.dumps(
        {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def load_or_create_keys(keys_dir: Path) -> SigningKeys:
    """Loads the key kept in `keys_dir`, first creating it (owner-only) if there is none."""
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    path = keys_dir / PRIVATE_KEY_FILE
    if not path.exists():
        _create_private_key(path)
    return load_keys(keys_dir)


def load_keys(keys_dir: Path) -> SigningKeys:
    """Loads the key kept in `keys_dir`, which must be there."""
    path = keys_dir / PRIVATE_KEY_FILE
    if not path.is_file():
        raise IssuerKeyNotFound(f"there is no issuer key at {path}")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureKeyFile(f"{path} has mode {mode:o}; it must be 600 (chmod 600 {path})")
    private_key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    numbers = private_key.public_key().public_numbers()
    kid = jwk_thumbprint({"kty": "RSA", "n": _b64_uint(numbers.n), "e": _b64_uint(numbers.e)})
    return SigningKeys(private_key=private_key, kid=kid)


def _create_private_key(path: Path) -> None:
    """Writes a new key to a private temp file and links it into place, so that a reader never
    sees half a key and, when two processes race, both end up using the first one linked."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        # Unlike rename, link refuses to replace a key another process has just put there.
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink()


def mint(
    keys: SigningKeys,
    *,
    issuer: str,
    subject: str,
    roles: Sequence[str],
    audience: str = DEFAULT_AUDIENCE,
    village: str | None = None,
    service_point: str | None = None,
    name: str | None = None,
    phone_number: str | None = None,
    lifetime_s: int = 3600,
    now: datetime | None = None,
) -> str:
    """Signs an RS256 access token for `subject` with the given roles; unknown roles are refused."""
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(f"unknown roles {unknown}; known roles are {', '.join(ROLES)}")
    if lifetime_s <= 0:
        raise ValueError(f"lifetime_s must be positive, not {lifetime_s}")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(seconds=lifetime_s),
        "jti": str(uuid.uuid4()),
        "roles": list(roles),
    }
    optional = {
        "village": village,
        "service_point": service_point,
        "name": name,
        "phone_number": phone_number,
    }
    claims.update({key: value for key, value in optional.items() if value is not None})
    return jwt.encode(claims, keys.private_key, algorithm=ALGORITHM, headers={"kid": keys.kid})


def local_issuer_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


class _KeyLocation(BaseModel):
    """Where the running issuer keeps the key it signs with, and which key that is."""

    kid: str
    keys_dir: str


def running_issuer_keys(issuer: str) -> SigningKeys:
    """The key the issuer running at `issuer` signs with, from the folder it names; never a new
    one, which no service would trust."""
    try:
        response = httpx.get(f"{issuer}/local/signing-key", timeout=5)
        response.raise_for_status()
        where = _KeyLocation.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        raise IssuerKeyNotFound(
            f"no local issuer answers at {issuer} ({exc}); start one with scripts/run, and "
            "give the --issuer-port it printed"
        ) from None
    keys = load_keys(Path(where.keys_dir))
    if keys.kid != where.kid:
        raise IssuerKeyNotFound(
            f"the issuer at {issuer} signs with key {where.kid}, but {where.keys_dir} "
            f"now holds key {keys.kid}: restart scripts/run"
        )
    return keys


def discovery_document(issuer: str) -> dict[str, Any]:
    """The provider metadata that OpenID Connect Discovery 1.0 requires, and no more.

    Only the implicit `id_token` response type is listed, so no token endpoint is required; the
    authorization endpoint exists because the metadata must name one, and it refuses every request.
    """
    base = issuer.rstrip("/")
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "jwks_uri": f"{base}/jwks.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
    }


def create_app(*, keys: SigningKeys, issuer: str, keys_dir: Path) -> FastAPI:
    """`keys_dir` is where `keys` are kept, for `running_issuer_keys` to read them."""
    app = FastAPI(title="Local OpenID Connect issuer")

    @app.get("/.well-known/openid-configuration")
    async def configuration() -> dict[str, Any]:
        return discovery_document(issuer)

    @app.get("/jwks.json")
    async def jwks() -> dict[str, list[dict[str, str]]]:
        return {"keys": [keys.public_jwk()]}

    @app.get("/local/signing-key")
    async def signing_key() -> _KeyLocation:
        return _KeyLocation(kid=keys.kid, keys_dir=str(keys_dir))

    @app.get("/authorize")
    async def authorize() -> JSONResponse:
        # No client is registered, so per RFC 6749 section 4.1.2.1 the error is not redirected.
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "no clients are registered; get a token with "
                "`python -m devstack token --role ROLE`",
            },
            status_code=400,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--keys-dir", type=Path, required=True, help="where the private key is")
    parser.add_argument("--issuer", help="the issuer URL (default: http://127.0.0.1:PORT)")
    args = parser.parse_args()
    keys_dir = args.keys_dir.resolve()
    keys = load_or_create_keys(keys_dir)
    issuer = args.issuer or local_issuer_url(args.port)
    print(f"issuer {issuer} signs with key {keys.kid}", flush=True)
    app = create_app(keys=keys, issuer=issuer, keys_dir=keys_dir)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
