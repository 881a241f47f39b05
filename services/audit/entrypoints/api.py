"""Audit's HTTP API for auditors: the log's entries and a verification of the whole chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.audit.domain.chain import AuditEntry, ChainVerification
from services.audit.service_layer import log
from services.audit.service_layer.ports import AuditLogRepository


def get_log(request: Request) -> AuditLogRepository:
    repository: AuditLogRepository = request.app.state.audit_log
    return repository


LogDep = Annotated[AuditLogRepository, Depends(get_log)]


class EntriesPage(BaseModel):
    entries: list[AuditEntry]
    next_after_sequence: int | None


router = APIRouter(prefix="/v1/audit")


@router.get("/entries")
async def list_entries(
    repository: LogDep,
    after_sequence: Annotated[int, Query(ge=0)] = 0,
    subject: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntriesPage:
    entries = await log.list_entries(
        log=repository, after_sequence=after_sequence, subject=subject, limit=limit
    )
    return EntriesPage(
        entries=entries,
        next_after_sequence=entries[-1].sequence if len(entries) == limit else None,
    )


@router.get("/verify")
async def verify(repository: LogDep) -> ChainVerification:
    return await log.verify_log(log=repository)
