"""Audit's HTTP API for auditors: entries, signed checkpoints, proofs, an export and a verification.

Hashes are base64, as in the checkpoints. A tree of n leaves holds the entries numbered 1 to n
(`sequence`), whose leaf indexes are 0 to n - 1 (`index`); proofs are about signed trees only.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.audit.domain.entry import LogEntry
from services.audit.domain.export import to_line
from services.audit.domain.note import NoteSigner, NoteVerifier
from services.audit.domain.verification import Problem
from services.audit.service_layer import log, tree
from services.audit.service_layer.ports import CheckpointStore, LogEntries, TreeNodes
from shared.dependencies import provided
from shared.errors import ApiError
from shared.http.error_bodies import error_response, error_responses

LAST_SEQUENCE = 2**63 - 1
"""The largest sequence number: MongoDB stores integers in at most 8 bytes."""
MAX_PAGE = 1000
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class AuditContext:
    entries: LogEntries
    nodes: TreeNodes
    checkpoints: CheckpointStore
    signer: NoteSigner


ContextDep = Annotated[AuditContext, Depends(provided(AuditContext))]


def _encoded(hash_: bytes) -> str:
    return base64.b64encode(hash_).decode()


class EntryView(BaseModel):
    """One entry of the log. Its leaf is the canonical JSON of `index`, `event_id`,
    `event_type`, `source`, `subject`, `event_time`, `recorded_at` and `data`: keys sorted, no
    spaces, UTF-8."""

    sequence: int = Field(description="The entry's number, from 1: its index + 1.")
    index: int = Field(description="The entry's leaf index in the Merkle tree, from 0.")
    leaf_hash: str = Field(description="SHA-256(0x00 || the entry's canonical JSON), base64.")
    event_id: str = Field(description="The CloudEvents id of the event.")
    event_type: str = Field(description="The CloudEvents type of the event.")
    source: str = Field(description="The service that published the event.")
    subject: str = Field(description="What the event is about, e.g. a request id.")
    event_time: str = Field(description="When the event happened (ISO 8601).")
    recorded_at: str = Field(description="When audit logged it (ISO 8601).")
    data: dict[str, Any] = Field(description="The event's data, personal fields pseudonymised.")

    @classmethod
    def of(cls, entry: LogEntry) -> EntryView:
        return cls(
            sequence=entry.sequence,
            index=entry.index,
            leaf_hash=_encoded(entry.leaf_hash()),
            event_id=entry.event_id,
            event_type=entry.event_type,
            source=entry.source,
            subject=entry.subject,
            event_time=entry.event_time,
            recorded_at=entry.recorded_at,
            data=entry.data,
        )


class EntriesPage(BaseModel):
    """One page of the log, in index order."""

    entries: list[EntryView] = Field(description="The entries, at most `limit` of them.")
    next_after_sequence: int | None = Field(
        description="What to pass as `after_sequence` for the next page; none after the last."
    )


class InclusionProofView(BaseModel):
    """RFC 9162 inclusion proof: the leaf with the audit path gives the signed root."""

    index: int = Field(description="The leaf's index.")
    tree_size: int = Field(description="The size of the signed tree the proof is for.")
    leaf_hash: str = Field(description="The leaf hash the tree holds at `index`.")
    proof: list[str] = Field(description="The audit path, nearest the leaf first.")


class ConsistencyProofView(BaseModel):
    """RFC 9162 consistency proof: the tree of `second` leaves extends the tree of `first`."""

    first: int = Field(description="The size of the earlier tree.")
    second: int = Field(description="The size of the signed later tree.")
    proof: list[str] = Field(description="The consistency path, deepest first.")


class FindingView(BaseModel):
    problem: Problem = Field(description="What is wrong.")
    detail: str = Field(description="Where and why, in words.")
    index: int | None = Field(description="The leaf index of the entry it is about.")
    through: int | None = Field(description="The last index of a run of such entries.")
    tree_size: int | None = Field(description="The size of the checkpoint it is about.")


class VerificationView(BaseModel):
    """The stored log, checked as an auditor checks an export of it."""

    valid: bool = Field(description="Whether nothing was found wrong.")
    entries: int = Field(description="How many entries were checked.")
    checkpoints: int = Field(description="How many checkpoints are signed and extend each other.")
    tree_size: int = Field(description="The size of the latest checkpoint the entries give.")
    root_hash: str | None = Field(description="That checkpoint's root hash.")
    uncovered: int = Field(description="Entries not yet in a checkpoint.")
    findings: list[FindingView] = Field(description=f"What is wrong, at most {MAX_FINDINGS}.")
    more_findings: int = Field(description="How many findings were left out of the list.")


router = APIRouter(prefix="/v1/audit")
VERIFY_PATH = "/v1/audit/verify"
"""Re-reads the whole log, so its database work may outlast the usual request deadline."""
EXPORT_PATH = "/v1/audit/export"
"""Streams the whole log, likewise."""
TEXT_TYPE = "text/plain; charset=utf-8"
TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
JSON_LINES = "application/x-ndjson"


@router.get("/entries", responses=error_responses(422, 503))
async def list_entries(
    context: ContextDep,
    after_sequence: Annotated[
        int,
        Query(
            ge=0,
            le=LAST_SEQUENCE,
            description="Only entries after this sequence number: those from this leaf index on.",
        ),
    ] = 0,
    subject: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Only the entries about this request id.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Entries per page.")] = 100,
) -> EntriesPage:
    entries = await log.list_entries(
        log=context.entries, after_sequence=after_sequence, subject=subject, limit=limit
    )
    return EntriesPage(
        entries=[EntryView.of(entry) for entry in entries],
        next_after_sequence=entries[-1].sequence if len(entries) == limit else None,
    )


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={
        200: {"description": "The latest checkpoint, a C2SP signed note.", **TEXT},
        404: error_response(404, "No checkpoint has been signed yet."),
        **error_responses(503),
    },
)
async def latest_checkpoint(context: ContextDep) -> Response:
    latest = await context.checkpoints.latest()
    if latest is None:
        raise tree.NoCheckpoint
    return Response(latest.note, media_type=TEXT_TYPE)


@router.get(
    "/key",
    response_class=Response,
    responses={200: {"description": "The note verifier key of the checkpoints.", **TEXT}},
)
async def verifier_key(context: ContextDep) -> Response:
    return Response(context.signer.verifier_key + "\n", media_type=TEXT_TYPE)


@router.get("/proofs/inclusion", responses=error_responses(422, 503))
async def inclusion_proof(
    context: ContextDep,
    index: Annotated[int, Query(ge=0, le=LAST_SEQUENCE, description="The leaf's index.")],
    tree_size: Annotated[
        int | None,
        Query(
            ge=1,
            le=LAST_SEQUENCE,
            description="The size of a signed tree; by default the latest checkpoint's.",
        ),
    ] = None,
) -> InclusionProofView:
    with _refusal_as_422():
        proof = await tree.inclusion_proof(
            nodes=context.nodes, checkpoints=context.checkpoints, index=index, tree_size=tree_size
        )
    return InclusionProofView(
        index=proof.index,
        tree_size=proof.tree_size,
        leaf_hash=_encoded(proof.leaf_hash),
        proof=[_encoded(hash_) for hash_ in proof.proof],
    )


@router.get("/proofs/consistency", responses=error_responses(422, 503))
async def consistency_proof(
    context: ContextDep,
    first: Annotated[
        int, Query(ge=1, le=LAST_SEQUENCE, description="The size of the earlier tree.")
    ],
    second: Annotated[
        int | None,
        Query(
            ge=1,
            le=LAST_SEQUENCE,
            description="The size of a signed later tree; by default the latest checkpoint's.",
        ),
    ] = None,
) -> ConsistencyProofView:
    with _refusal_as_422():
        proof = await tree.consistency_proof(
            nodes=context.nodes, checkpoints=context.checkpoints, first=first, second=second
        )
    return ConsistencyProofView(
        first=proof.first,
        second=proof.second,
        proof=[_encoded(hash_) for hash_ in proof.proof],
    )


@contextmanager
def _refusal_as_422() -> Iterator[None]:
    try:
        yield
    except tree.ProofRefused as refusal:
        raise ApiError(
            422,
            "invalid_request",
            "Bukti tidak dapat dibuat untuk parameter ini.",
            details={f"query.{refusal.field}": refusal.reason},
        ) from None


@router.get(
    EXPORT_PATH.removeprefix(router.prefix),
    response_class=Response,
    responses={
        200: {
            "description": "Every checkpoint, then every entry, as JSON lines (see the README).",
            "content": {JSON_LINES: {"schema": {"type": "string"}}},
        },
        **error_responses(503),
    },
)
async def export(context: ContextDep) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        async for record in tree.export_log(
            entries=context.entries, nodes=context.nodes, checkpoints=context.checkpoints
        ):
            yield to_line(record)

    return StreamingResponse(lines(), media_type=JSON_LINES)


@router.get(VERIFY_PATH.removeprefix(router.prefix), responses=error_responses(503))
async def verify(context: ContextDep) -> VerificationView:
    report = await tree.verify_log(
        entries=context.entries,
        nodes=context.nodes,
        checkpoints=context.checkpoints,
        verifier=NoteVerifier.parse(context.signer.verifier_key),
    )
    return VerificationView(
        valid=report.valid,
        entries=report.entries,
        checkpoints=report.checkpoints,
        tree_size=report.tree_size,
        root_hash=None if report.root_hash is None else _encoded(report.root_hash),
        uncovered=report.uncovered,
        findings=[
            FindingView(
                problem=finding.problem,
                detail=finding.detail,
                index=finding.index,
                through=finding.through,
                tree_size=finding.tree_size,
            )
            for finding in report.findings[:MAX_FINDINGS]
        ],
        more_findings=max(len(report.findings) - MAX_FINDINGS, 0),
    )
