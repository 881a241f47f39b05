"""How a case's steps in processing show in the citizen's request: its status and history, with
what the citizen needs to know in plain Indonesian."""

from __future__ import annotations

from services.intake.domain.citizen_request import RequestStatus, StatusChange
from shared.events.models.cases import (
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


def status_change(event: CaseEvent) -> StatusChange:
    """The step the citizen sees, with what they need to know."""
    documents = tuple(event.documents) if isinstance(event, RevisionRequested) else ()
    return StatusChange(
        status=RequestStatus(event.state), at=event.at, note=_note(event), documents=documents
    )


def shown_at_same_status(event: CaseEvent) -> bool:
    """Whether the step shows even if the request already has its status: each send-back asks
    for something new, while any other step that leaves the status as it is changes nothing the
    citizen sees."""
    return isinstance(event, RevisionRequested)


def _note(event: CaseEvent) -> str | None:
    if isinstance(event, RevisionRequested):
        return "Perlu perbaikan: " + "; ".join(event.items)
    if isinstance(event, DocumentIssued):
        return f"Dokumen nomor {event.document_number} {COLLECTION[event.collection]}."
    if isinstance(event, CaseRejected):
        return f"Permohonan ditolak: {event.reason}"
    return None
