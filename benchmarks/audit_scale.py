"""The audit log at the sizes years of a regency's activity reach: offline verification of a large
export, and inclusion proofs served from a large tree stored on the local engine.

The export is made in memory, as the service writes it: entries shaped like the log's (a staff
action with pseudonyms), a signed checkpoint every `--checkpoint-every` entries with its
consistency proof. It is written to a file and checked by the console verifier's own code, as an
auditor runs it.

The tree's nodes are computed in memory and bulk-loaded into FerretDB as audit stores them (one
document per complete subtree, by `_id`), with a signed checkpoint of the whole tree; proofs are
then served by the code behind `GET /v1/audit/proofs/inclusion`, and each is checked against the
signed root with the verifier's algorithm.

    .venv/bin/python -m benchmarks.audit_scale [--export-entries 1000000] [--tree-leaves 10000000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from benchmarks.stats import percentiles
from devstack.stack import Ports, Stack
from services.audit.adapters.mongo_tree import MongoCheckpoints, MongoTreeNodes
from services.audit.domain import merkle
from services.audit.domain.checkpoint import Checkpoint, sign_checkpoint
from services.audit.domain.entry import LogEntry
from services.audit.domain.export import to_line
from services.audit.domain.merkle import CompactRange, Subtree
from services.audit.domain.note import NoteSigner
from services.audit.domain.verification import ExportedCheckpoint, ExportedEntry
from services.audit.service_layer.tree import inclusion_proof
from services.audit.verifier import VALID, arguments, run
from shared.mongo import new_mongo_client

SIGNER = NoteSigner("adminduk.bench/audit-scale", Ed25519PrivateKey.generate())
LOAD_BATCH = 20_000


def entry(index: int) -> LogEntry:
    """A staff action as the log keeps it: ids, times and pseudonyms, no personal data."""
    return LogEntry(
        index=index,
        event_id=f"0193a0c4-{index:012x}",
        event_type="id.go.adminduk.case.viewed.v1",
        source="/adminduk/processing",
        subject=f"req-{index // 7:08d}",
        event_time="2026-11-02T01:00:00+00:00",
        recorded_at="2026-11-02T01:00:01+00:00",
        data={
            "request_id": f"req-{index // 7:08d}",
            "state": "IN_VERIFICATION",
            "at": "2026-11-02T01:00:00+00:00",
            "actor": {"kind": "STAFF", "id": f"{index % 97:064x}", "channel": "API"},
        },
    )


def write_export(path: Path, entries: int, checkpoint_every: int) -> None:
    """Checkpoints first, each with its proof that it extends the one before; then the entries."""
    tree = CompactRange()
    nodes: dict[Subtree, bytes] = {}
    leaves: list[bytes] = []
    sizes = [*range(checkpoint_every, entries, checkpoint_every), entries]
    records: list[str] = []
    previous = 0
    for size in sizes:
        while tree.size < size:
            leaf = entry(tree.size).leaf_hash()
            leaves.append(leaf)
            nodes.update(tree.append(leaf))
        signed = sign_checkpoint(
            Checkpoint(origin=SIGNER.name, size=size, root_hash=tree.root()), SIGNER
        )
        proof = merkle.consistency_proof(nodes, previous, size) if previous else []
        records.append(to_line(ExportedCheckpoint(signed.note, proof)))
        previous = size
    del nodes
    with path.open("w", encoding="utf-8") as export:
        export.writelines(records)
        for index, leaf in enumerate(leaves):
            export.write(to_line(ExportedEntry(entry(index), leaf)))


async def offline_verification(run_dir: Path, entries: int, checkpoint_every: int) -> None:
    path = run_dir / "export.jsonl"
    began = time.perf_counter()
    write_export(path, entries, checkpoint_every)
    size_mb = path.stat().st_size / 1e6
    writing = time.perf_counter() - began
    print(f"export of {entries:,} entries written: {size_mb:,.0f} MB in {writing:.0f} s")
    report = io.StringIO()
    began = time.perf_counter()
    status = await run(arguments(["--key", SIGNER.verifier_key, "--export", str(path)]), out=report)
    verifying = time.perf_counter() - began
    assert status == VALID, report.getvalue()
    print(
        f"offline verification of {entries:,} entries: {verifying:.1f} s "
        f"({entries / verifying:,.0f} entries/s); the verifier said:"
    )
    print(report.getvalue().rstrip())


async def load_tree(nodes: MongoTreeNodes, leaves: int) -> bytes:
    """Stores every complete subtree of a tree of `leaves` leaves; returns its root."""
    tree = CompactRange()
    batch: dict[Subtree, bytes] = {}
    for index in range(leaves):
        batch.update(tree.append(entry(index).leaf_hash()))
        if len(batch) >= LOAD_BATCH:
            await nodes.put(batch)
            batch = {}
    await nodes.put(batch)
    return tree.root()


async def proofs_at_scale(stack: Stack, leaves: int, proofs: int) -> None:
    client = new_mongo_client(stack.mongo_url)
    db = client["adminduk_audit_scale"]
    nodes = MongoTreeNodes(db["tree_nodes"])
    checkpoints = MongoCheckpoints(db["latest_checkpoint"], db["checkpoints"])
    began = time.perf_counter()
    root = await load_tree(nodes, leaves)
    loading = time.perf_counter() - began
    print(f"tree of {leaves:,} leaves stored: {2 * leaves - 1:,} nodes in {loading:.0f} s")
    signed = sign_checkpoint(Checkpoint(origin=SIGNER.name, size=leaves, root_hash=root), SIGNER)
    assert await checkpoints.advance(signed, previous=None)
    timings: list[float] = []
    for index in random.Random(11).sample(range(leaves), min(proofs, leaves)):
        began = time.perf_counter()
        proof = await inclusion_proof(
            nodes=nodes, checkpoints=checkpoints, index=index, tree_size=None
        )
        timings.append(time.perf_counter() - began)
        assert proof.leaf_hash == entry(index).leaf_hash()
        assert merkle.verify_inclusion(
            index=index, size=leaves, leaf=proof.leaf_hash, proof=proof.proof, root=root
        )
    figures = percentiles([value * 1000 for value in timings])
    shown = ", ".join(f"{name} {value:.1f} ms" for name, value in figures.items() if value)
    print(f"inclusion proof at {leaves:,} leaves ({len(timings)} proofs, each verified): {shown}")
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--export-entries", type=int, default=1_000_000)
    parser.add_argument("--checkpoint-every", type=int, default=10_000)
    parser.add_argument("--tree-leaves", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        if args.export_entries:
            export = offline_verification(Path(run_dir), args.export_entries, args.checkpoint_every)
            asyncio.run(export)
        if args.tree_leaves:
            stack = Stack(Path(run_dir), Ports.free())
            try:
                stack.start_engines()
                asyncio.run(proofs_at_scale(stack, args.tree_leaves, args.proofs))
            finally:
                stack.stop()


if __name__ == "__main__":
    main()
