"""The local OpenID Connect issuer: its key, its tokens and what it serves, without a server."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from devstack import __main__ as devstack_main
from devstack.issuer import (
    PRIVATE_KEY_FILE,
    InsecureKeyFile,
    SigningKeys,
    create_app,
    jwk_thumbprint,
    load_or_create_keys,
    local_issuer_url,
    mint,
)
from devstack.paths import REPO_ROOT
from devstack.process import free_port
from devstack.stack import Ports, Stack, http_ok
from tests.polling import eventually_blocking

ISSUER = "http://127.0.0.1:8010"

# RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_EXAMPLE_JWK = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJ"
    "ECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2"
    "QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh"
    "6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_EXAMPLE_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("issuer") / "keys"


@pytest.fixture(scope="module")
def keys(keys_dir: Path) -> SigningKeys:
    return load_or_create_keys(keys_dir)


@pytest.fixture(scope="module")
def client(keys: SigningKeys, keys_dir: Path) -> TestClient:
    return TestClient(create_app(keys=keys, issuer=ISSUER, keys_dir=keys_dir))


def verify(token: str, client: httpx.Client) -> dict[str, Any]:
    """Checks a token as a service would: discovery document, JWKS, then signature and claims."""
    configuration = client.get("/.well-known/openid-configuration").json()
    jwks_path = configuration["jwks_uri"].removeprefix(configuration["issuer"])
    key_set = jwt.PyJWKSet.from_dict(client.get(jwks_path).json())
    key = next(k for k in key_set.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="adminduk",
        issuer=configuration["issuer"],
        options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]},
    )
    return claims


def test_the_key_is_created_once_owner_only_and_reused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "issuer"

    first = load_or_create_keys(keys_dir)
    key_file = keys_dir / PRIVATE_KEY_FILE
    created = key_file.read_bytes()
    second = load_or_create_keys(keys_dir)

    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert created.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert first.private_key.key_size == 2048
    assert second.kid == first.kid
    assert key_file.read_bytes() == created
    assert [path.name for path in keys_dir.iterdir()] == [PRIVATE_KEY_FILE]


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_keys(tmp_path)
    (tmp_path / PRIVATE_KEY_FILE).chmod(0o644)

    with pytest.raises(InsecureKeyFile, match="chmod 600"):
        load_or_create_keys(tmp_path)


def test_the_thumbprint_matches_the_rfc_7638_example() -> None:
    assert jwk_thumbprint(RFC7638_EXAMPLE_JWK) == RFC7638_EXAMPLE_THUMBPRINT


def test_the_key_id_is_the_thumbprint_of_the_public_key(keys: SigningKeys) -> None:
    jwk = keys.public_jwk()

    assert keys.kid == jwk_thumbprint(jwk)
    assert jwk == {
        "kty": "RSA",
        "kid": keys.kid,
        "use": "sig",
        "alg": "RS256",
        "n": jwk["n"],
        "e": "AQAB",
    }


def test_the_discovery_document_points_at_the_served_keys(client: TestClient) -> None:
    response = client.get("/.well-known/openid-configuration")

    assert response.status_code == 200
    assert response.json() == {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "jwks_uri": f"{ISSUER}/jwks.json",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    assert client.get("/authorize").json()["error"] == "invalid_request"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_it_tells_where_its_key_is_kept_but_not_the_key(
    client: TestClient, keys: SigningKeys, keys_dir: Path
) -> None:
    answer = client.get("/local/signing-key").json()

    assert answer == {"kid": keys.kid, "keys_dir": str(keys_dir)}


def test_the_jwks_holds_the_public_key(client: TestClient, keys: SigningKeys) -> None:
    assert client.get("/jwks.json").json() == {"keys": [keys.public_jwk()]}


def test_a_minted_token_verifies_against_the_served_keys(
    client: TestClient, keys: SigningKeys
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)

    token = mint(
        keys,
        issuer=ISSUER,
        subject="officer-7",
        roles=["counter_officer", "verifier"],
        service_point="KANTOR_DINAS",
        village="3516010001",
        name="Budi Santoso",
        lifetime_s=600,
        now=now,
    )

    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": keys.kid}
    claims = verify(token, client)
    assert claims == {
        "iss": ISSUER,
        "aud": "adminduk",
        "sub": "officer-7",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600,
        "jti": claims["jti"],
        "roles": ["counter_officer", "verifier"],
        "village": "3516010001",
        "service_point": "KANTOR_DINAS",
        "name": "Budi Santoso",
    }


def test_optional_claims_are_left_out_and_each_token_has_its_own_id(
    client: TestClient, keys: SigningKeys
) -> None:
    first = verify(mint(keys, issuer=ISSUER, subject="c-1", roles=["citizen"]), client)
    second = verify(mint(keys, issuer=ISSUER, subject="c-1", roles=["citizen"]), client)

    assert {"village", "service_point", "name"}.isdisjoint(first)
    assert first["exp"] - first["iat"] == 3600
    assert first["jti"] != second["jti"]


def test_a_token_for_another_audience_or_past_its_lifetime_is_rejected(
    client: TestClient, keys: SigningKeys
) -> None:
    other = mint(keys, issuer=ISSUER, subject="a-1", roles=["auditor"], audience="elsewhere")
    expired = mint(
        keys,
        issuer=ISSUER,
        subject="a-1",
        roles=["auditor"],
        lifetime_s=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )

    with pytest.raises(jwt.InvalidAudienceError):
        verify(other, client)
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(expired, client)


def test_unknown_roles_are_refused(keys: SigningKeys) -> None:
    with pytest.raises(ValueError, match="unknown roles \\['superuser'\\]"):
        mint(keys, issuer=ISSUER, subject="x", roles=["verifier", "superuser"])


def test_the_stack_signs_for_its_issuer_and_tells_the_services_where_it_is(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path, Ports.free())
    keys = stack.issuer_keys()
    client = TestClient(
        create_app(keys=keys, issuer=stack.issuer_url, keys_dir=stack.issuer_keys_dir)
    )

    claims = verify(stack.mint_token("village_operator", village="3516010001"), client)

    assert (claims["sub"], claims["roles"], claims["village"]) == (
        "village_operator-test",
        ["village_operator"],
        "3516010001",
    )
    assert stack.issuer_keys_dir == tmp_path / "issuer"
    assert stack.urls()["issuer"] == stack.issuer_url
    assert stack.service_env("processing")["PROCESSING_OIDC_ISSUER"] == stack.issuer_url


@pytest.fixture
def running_issuer(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An issuer as `run --data-dir` starts it, keeping its key outside the default folder;
    yields its port and key folder."""
    port, keys_dir = free_port(), tmp_path / "elsewhere" / "issuer"
    command = [sys.executable, "-m", "devstack.issuer", f"--port={port}", f"--keys-dir={keys_dir}"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    try:

        def answers() -> bool:
            assert process.poll() is None, "the issuer stopped"
            return http_ok(f"{local_issuer_url(port)}/healthz")

        eventually_blocking(answers, what="the issuer's answer")
        yield port, keys_dir
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def default_run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Stands in for `.local/run`, to see that the token command makes no key there."""
    folder = tmp_path / "default-run"
    monkeypatch.setattr(devstack_main, "RUN_DIR", folder)
    return folder


def test_the_token_command_signs_with_the_key_of_the_issuer_on_its_port(
    running_issuer: tuple[int, Path], default_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, _ = running_issuer
    command = ["token", "--role=verifier", "--service-point=KANTOR_DINAS", "--subject=verifier-1"]

    assert devstack_main.main([*command, "--lifetime-s=120", f"--issuer-port={port}"]) == 0

    issuer = local_issuer_url(port)
    with httpx.Client(base_url=issuer) as client:
        claims = verify(capsys.readouterr().out.strip(), client)
    assert claims["iss"] == issuer
    assert claims["sub"] == "verifier-1"
    assert claims["roles"] == ["verifier"]
    assert claims["service_point"] == "KANTOR_DINAS"
    assert claims["exp"] - claims["iat"] == 120
    assert not default_run_dir.exists()


def test_the_token_command_fails_loudly_when_no_issuer_answers(
    default_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()

    assert devstack_main.main(["token", "--role=auditor", f"--issuer-port={port}"]) == 1

    printed = capsys.readouterr()
    assert printed.out == ""
    assert f"error: no local issuer answers at http://127.0.0.1:{port}" in printed.err
    assert not default_run_dir.exists()


def test_the_token_command_fails_loudly_when_the_issuers_key_is_gone(
    running_issuer: tuple[int, Path], default_run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, keys_dir = running_issuer
    (keys_dir / PRIVATE_KEY_FILE).unlink()

    assert devstack_main.main(["token", "--role=auditor", f"--issuer-port={port}"]) == 1

    printed = capsys.readouterr()
    assert printed.out == ""
    assert f"error: there is no issuer key at {keys_dir / PRIVATE_KEY_FILE}" in printed.err
    assert not (keys_dir / PRIVATE_KEY_FILE).exists()
    assert not default_run_dir.exists()


def test_the_run_banner_names_the_token_command_of_its_issuer() -> None:
    banner = devstack_main.EXAMPLE.format(
        intake="http://intake", audit="http://audit", token="scripts/token --issuer-port 8123"
    )

    assert "$(scripts/token --issuer-port 8123 --role auditor)" in banner
