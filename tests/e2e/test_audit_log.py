"""The audit log through the whole stack: a request's events are logged, signed into checkpoints,
and proven to be in them, as an auditor checks it with code of their own.

Everything an auditor needs is written out here from the published formats (RFC 6962 hashing,
C2SP signed notes and checkpoints), not taken from the service's code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sys
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from devstack.stack import Stack
from shared.events.models.requests import RequestSubmitted
from tests.e2e.conftest import SUBMISSION, audit_entries, auditor
from tests.polling import eventually

HASHED_FIELDS = (
    "index",
    "event_id",
    "event_type",
    "source",
    "subject",
    "event_time",
    "recorded_at",
    "data",
)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def opened(note: str, verifier_key: str) -> Checkpoint:
    """The checkpoint in a signed note, once its Ed25519 signature by the key is checked."""
    name, key_hash, encoded_key = verifier_key.strip().split("+", 2)
    key = base64.b64decode(encoded_key)
    assert key[0] == 1
    assert sha256(name.encode() + b"\n" + key)[:4].hex() == key_hash
    body, signatures = note.rsplit("\n\n", 1)
    body += "\n"
    [line] = [s for s in signatures.splitlines() if s.startswith(f"\u2014 {name} ")]
    signed = base64.b64decode(line.rsplit(" ", 1)[1])
    assert signed[:4].hex() == key_hash
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(signed[4:], body.encode())
    origin, size, root = body.splitlines()[:3]
    assert origin == name
    return Checkpoint(origin, int(size), base64.b64decode(root))


def leaf_of(entry: dict[str, Any]) -> bytes:
    content = {field: entry[field] for field in HASHED_FIELDS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256(b"\x00" + canonical.encode())


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def split(size: int) -> int:
    k = 1
    while k * 2 < size:
        k *= 2
    return k


def root_from_path(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes:
    """Rebuilds the root from the audit path by the definition of the path (RFC 6962, 2.1.1):
    its last hash is the sibling at the top split."""
    if size == 1:
        assert not path
        return leaf
    k = split(size)
    if index < k:
        return node(root_from_path(index, k, leaf, path[:-1]), path[-1])
    return node(path[-1], root_from_path(index - k, size - k, leaf, path[:-1]))


def roots_from_consistency(
    first: int, second: int, first_root: bytes, path: list[bytes]
) -> tuple[bytes, bytes]:
    """Rebuilds both roots from the consistency proof by its definition (RFC 6962, 2.1.2)."""
    remaining = list(path)

    def walk(m: int, n: int, whole: bool) -> tuple[bytes, bytes]:
        if m == n:
            if whole:
                return first_root, first_root
            hash_ = remaining.pop()
            return hash_, hash_
        k = split(n)
        if m <= k:
            right = remaining.pop()
            old, new = walk(m, k, whole)
            return old, node(new, right)
        left = remaining.pop()
        old, new = walk(m - k, n - k, False)
        return node(left, old), node(left, new)

    roots = walk(first, second, True)
    assert not remaining
    return roots


async def latest_checkpoint(
    http: httpx.AsyncClient, stack: Stack, key: str, covering: int
) -> Checkpoint:
    async def signed() -> Checkpoint | None:
        response = await http.get(
            f"{stack.service_url('audit')}/v1/audit/checkpoint", headers=auditor(stack)
        )
        if response.status_code == 404:
            return None
        checkpoint = opened(response.text, key)
        return checkpoint if checkpoint.size > covering else None

    return await eventually(signed, what=f"a checkpoint covering entry {covering}")


async def submitted(http: httpx.AsyncClient, stack: Stack, phone: str) -> list[dict[str, Any]]:
    response = await http.post(
        f"{stack.service_url('intake')}/v1/requests", json=SUBMISSION | {"phone": phone}
    )
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]

    async def logged() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, stack, subject=request_id)
        return entries if len(entries) >= 2 else None

    return await eventually(logged, what="the request's audit entries")


async def test_a_requests_entries_are_proven_in_the_signed_log_with_the_published_key(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    audit = backend.service_url("audit")
    key = (await http.get(f"{audit}/v1/audit/key", headers=auditor(backend))).text
    seed = bytes.fromhex(backend.service_secret("AUDIT_CHECKPOINT_KEY"))
    configured = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    assert base64.b64decode(key.split("+", 2)[2])[1:] == configured.public_bytes(
        Encoding.Raw, PublicFormat.Raw
    )

    entries = await submitted(http, backend, "085700000401")
    assert entries[0]["event_type"] == RequestSubmitted.event_type
    assert SUBMISSION["nik"] not in str(entries)
    checkpoint = await latest_checkpoint(
        http, backend, key, covering=max(entry["index"] for entry in entries)
    )

    for entry in entries:
        assert entry["sequence"] == entry["index"] + 1
        leaf = leaf_of(entry)
        assert base64.b64decode(entry["leaf_hash"]) == leaf
        response = await http.get(
            f"{audit}/v1/audit/proofs/inclusion",
            params={"index": entry["index"], "tree_size": checkpoint.size},
            headers=auditor(backend),
        )
        assert response.status_code == 200, response.text
        proof = response.json()
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        path = [base64.b64decode(hash_) for hash_ in proof["proof"]]
        assert root_from_path(entry["index"], checkpoint.size, leaf, path) == checkpoint.root

    later_entries = await submitted(http, backend, "085700000402")
    later = await latest_checkpoint(
        http, backend, key, covering=max(entry["index"] for entry in later_entries)
    )
    response = await http.get(
        f"{audit}/v1/audit/proofs/consistency",
        params={"first": checkpoint.size, "second": later.size},
        headers=auditor(backend),
    )
    path = [base64.b64decode(hash_) for hash_ in response.json()["proof"]]
    assert roots_from_consistency(checkpoint.size, later.size, checkpoint.root, path) == (
        checkpoint.root,
        later.root,
    )


async def test_a_proof_beyond_the_signed_log_is_refused_with_a_reason(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    await submitted(http, backend, "085700000403")
    audit = backend.service_url("audit")
    key = (await http.get(f"{audit}/v1/audit/key", headers=auditor(backend))).text
    checkpoint = await latest_checkpoint(http, backend, key, covering=0)

    response = await http.get(
        f"{audit}/v1/audit/proofs/inclusion",
        params={"index": 0, "tree_size": 2**62},
        headers=auditor(backend),
    )

    assert response.status_code == 422
    [detail] = response.json()["details"]
    assert detail["field"] == "query.tree_size"
    assert detail["reason"].startswith("Paling besar ")
    assert int(detail["reason"].split()[2].rstrip(":")) >= checkpoint.size


async def test_the_offline_verifier_passes_the_live_log(
    backend: Stack, http: httpx.AsyncClient
) -> None:
    entries = await submitted(http, backend, "085700000404")
    audit = backend.service_url("audit")
    key = (await http.get(f"{audit}/v1/audit/key", headers=auditor(backend))).text.strip()
    await latest_checkpoint(http, backend, key, covering=max(e["index"] for e in entries))

    verification = (await http.get(f"{audit}/v1/audit/verify", headers=auditor(backend))).json()
    token = backend.mint_token("auditor")
    verifier = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "services.audit.verifier", "--key", key],
        *["--url", audit, "--token", token],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(verifier.communicate(), timeout=120)

    assert verification["valid"] is True, verification["findings"]
    assert verifier.returncode == 0, output.decode()
    assert "UTUH" in output.decode()
