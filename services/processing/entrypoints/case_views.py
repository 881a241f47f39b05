"""A case as the staff console shows it, with or without the applicant's personal data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.processing.domain.case import Case
from shared.events.models.cases import CaseStage


class ClaimView(BaseModel):
    officer: str = Field(description="Who holds the case.")
    role: str = Field(description="The role they hold it in.")
    since: datetime


class CaseDocumentView(BaseModel):
    requirement: str = Field(description="Catalogue code of the requirement it fulfils.")
    document_id: str = Field(
        description="Intake's id of the file, read at intake's "
        "`GET /v1/requests/{request_id}/documents/{document_id}`."
    )


class CaseView(BaseModel):
    """A case as the console shows it."""

    request_id: str
    service_code: str
    state: str = Field(description="SUBMITTED, IN_VERIFICATION, NEEDS_REVISION, APPROVED, …")
    stage: CaseStage | None = Field(description="The work it waits for; none when finished.")
    service_point: str
    opened_at: datetime
    due_at: datetime = Field(description="The deadline on the office's working-day calendar.")
    claim: ClaimView | None = Field(description="Who has taken it, if anyone.")
    documents: list[CaseDocumentView] = Field(description="The documents intake received.")
    missing_documents: list[str] = Field(
        description="Catalogue codes of mandatory documents not received yet; the case is not "
        "verified while any is missing."
    )
    documents_complete: bool = Field(description="Whether every mandatory document is there.")

    @classmethod
    def of(cls, case: Case) -> CaseView:
        claim = case.claim
        return cls(
            request_id=case.request_id,
            service_code=case.service_code,
            state=case.state.value,
            stage=case.stage,
            service_point=case.service_point,
            opened_at=case.opened_at,
            due_at=case.due_at,
            claim=None
            if claim is None
            else ClaimView(officer=claim.officer, role=claim.role.value, since=claim.since),
            documents=[
                CaseDocumentView(requirement=requirement, document_id=document_id)
                for requirement, document_id in sorted(case.documents.items())
            ],
            missing_documents=sorted(case.missing_documents),
            documents_complete=case.documents_complete,
        )


class CaseDetails(CaseView):
    """A case with the applicant's personal data; every read is recorded for auditors."""

    applicant_name: str
    applicant_nik: str
    applicant_phone: str | None
