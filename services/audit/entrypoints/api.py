"""Audit's HTTP API for auditors: the log's entries and a verification of the whole chain."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.audit.service_layer import log
from services.audit.service_layer.ports import AuditLogRepository


def get_log(request: Request) -> AuditLogRepository:
    repository: AuditLogRepository = request.app.state.audit_log
    return repository


LogDep = Annotated[AuditLogRepository, Depends(get_log)]


class EntryView(BaseModel):
    sequence: int
    event_id: str
    event_type: str
    source: str
    subject: str
    event_time: str
    recorded_at: str
    data: dict[str, Any]
    previous_hash: str
    entry_hash: str


class EntriesPage(BaseModel):
    entries: list[EntryView]
    next_after_sequence: int | None


class VerificationView(BaseModel):
    valid: bool
    entries: int
    head_hash: str
    first_invalid_sequence: int | None


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
        entries=[EntryView(**asdict(entry)) for entry in entries],
        next_after_sequence=entries[-1].sequence if len(entries) == limit else None,
    )


@router.get("/verify")
async def verify(repository: LogDep) -> VerificationView:
    return VerificationView(**asdict(await log.verify_log(log=repository)))
