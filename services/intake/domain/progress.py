"""How a case's steps in processing show in the citizen's request: its status and history, with
what the citizen needs to know in plain Indonesian."""

from __future__ import annotations

from services.intake.domain.citizen_request import RequestStatus, StatusChange
from shared.events.models import (
    CaseEvent,
    CaseRejected,
    CollectionMethod,
    DocumentIssued,
    RevisionRequested,
)

COLLECTION = {
    CollectionMethod.PRINT_AT_HOME: "dapat diunduh dan dicetak sendiri (PDF)",
    CollectionMethod.OFFICE: "dapat diambil di kantor Dispendukcapil",
    CollectionMethod.VILLAGE: "dapat diambil di kantor desa",
}


def status_change(event: CaseEvent, current: RequestStatus) -> StatusChange | None:
    """The step the citizen sees, or None when the case's state did not change for them."""
    status = RequestStatus(event.state)
    if status is current and not isinstance(event, RevisionRequested):
        return None
    documents = tuple(event.documents) if isinstance(event, RevisionRequested) else ()
    return StatusChange(status=status, at=event.at, note=_note(event), documents=documents)


def _note(event: CaseEvent) -> str | None:
    if isinstance(event, RevisionRequested):
        return "Perlu perbaikan: " + "; ".join(event.items)
    if isinstance(event, DocumentIssued):
        return f"Dokumen nomor {event.document_number} {COLLECTION[event.collection]}."
    if isinstance(event, CaseRejected):
        return f"Permohonan ditolak: {event.reason}"
    return None
