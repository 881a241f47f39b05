"""Audit's HTTP API for auditors: the log's entries and a verification of the whole chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.audit.domain.chain import AuditEntry, ChainVerification
from services.audit.service_layer import log
from services.audit.service_layer.ports import AuditLogRepository
from shared.http import error_responses

LAST_SEQUENCE = 2**63 - 1
"""The largest sequence number: MongoDB stores integers in at most 8 bytes."""
MAX_PAGE = 1000


def get_log(request: Request) -> AuditLogRepository:
    repository: AuditLogRepository = request.app.state.audit_log
    return repository


LogDep = Annotated[AuditLogRepository, Depends(get_log)]


class EntriesPage(BaseModel):
    """One page of the log, in sequence order."""

    entries: list[AuditEntry] = Field(description="The entries, at most `limit` of them.")
    next_after_sequence: int | None = Field(
        description="What to pass as `after_sequence` for the next page; none after the last."
    )


router = APIRouter(prefix="/v1/audit")
VERIFY_PATH = "/v1/audit/verify"
"""Re-reads the whole log, so its database work may outlast the usual request deadline."""


@router.get("/entries", responses=error_responses(422, 503))
async def list_entries(
    repository: LogDep,
    after_sequence: Annotated[
        int,
        Query(ge=0, le=LAST_SEQUENCE, description="Only entries after this sequence number."),
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
        log=repository, after_sequence=after_sequence, subject=subject, limit=limit
    )
    return EntriesPage(
        entries=entries,
        next_after_sequence=entries[-1].sequence if len(entries) == limit else None,
    )


@router.get(VERIFY_PATH.removeprefix(router.prefix), responses=error_responses(503))
async def verify(repository: LogDep) -> ChainVerification:
    return await log.verify_log(log=repository)
