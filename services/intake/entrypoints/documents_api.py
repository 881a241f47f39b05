"""HTTP routes of a request's documents: send a file as the request's body, read one back.

The file is the whole body, not a multipart form: it is read as it arrives and checked on the
way, so a wrong or oversized one is refused without reading the rest; held in memory (never in a
temporary file) until whole, opened with a PDF or image library, and only then sealed chunk by
chunk and stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from services.intake.domain.callers import (
    RequestNotFound,
    Visibility,
    admit,
    reader,
    submitter,
    visibility,
)
from services.intake.domain.citizen_request import CitizenRequest
from services.intake.domain.documents import DocumentNotFound, document_access
from services.intake.entrypoints.api import ContextDep, IntakeContext
from services.intake.service_layer import documents, submission
from services.intake.service_layer.ports import DocumentStore
from shared.access import CallerDep
from shared.dependencies import provided
from shared.errors import ApiError
from shared.file_contents import MAX_PAGES, MAX_PIXELS
from shared.files import MediaType, TooLarge, UnsupportedType
from shared.http.error_bodies import error_response, error_responses

DOCUMENTS_PATH = "/v1/requests/{request_id}/documents"
EXTENSIONS = {MediaType.PDF: ".pdf", MediaType.JPEG: ".jpg", MediaType.PNG: ".png"}


@dataclass(frozen=True)
class DocumentsContext:
    """What the document routes need besides intake's context, put together by bootstrap."""

    store: DocumentStore
    default_service_point: str
    """Where processing works on requests not submitted at a counter."""


DocumentsDep = Annotated[DocumentsContext, Depends(provided(DocumentsContext))]
RequestIdPath = Annotated[
    UUID, Path(description="The request's id, in any spelling of the same UUID.")
]


class DocumentView(BaseModel):
    """A document as stored for its request."""

    document_id: UUID = Field(description="The stored file's id.")
    requirement: str = Field(description="Catalogue code of the requirement it fulfils.")
    media_type: MediaType = Field(description="The type read from the file's bytes.")
    size_bytes: int = Field(description="The file's size.")
    sha256: str = Field(description="SHA-256 of the file's bytes, hex.")
    replaces: UUID | None = Field(
        description="The document it replaced (and which is removed): one sent before the "
        "office began to verify the request, or one the office asked to be sent again."
    )
    missing_documents: list[str] = Field(
        description="Catalogue codes of the mandatory documents still to be sent; once none "
        "is missing, the office verifies the request."
    )


_FILE_TYPES = [*(kind.value for kind in MediaType), "application/octet-stream"]
_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes as the whole body (not a multipart form). Its type is "
        "read from its first bytes (`%PDF-`, JPEG `FF D8 FF`, the PNG signature), never from "
        "Content-Type or a file name, and must be one the requirement accepts "
        "(`GET /v1/services/{code}`); its size at most the requirement's. The whole file must "
        "then open as that type: a PDF that a PDF library reads, without a password, of at "
        f"most {MAX_PAGES} pages; an image that decodes, of at most "
        f"{MAX_PIXELS // 1_000_000} megapixels.",
        "content": {
            file_type: {"schema": {"type": "string", "format": "binary"}}
            for file_type in _FILE_TYPES
        },
    }
}
_FILE: dict[str, Any] = {
    "description": "The file's bytes, with the type read from them.",
    "content": {
        kind.value: {"schema": {"type": "string", "format": "binary"}} for kind in MediaType
    },
}
_NOT_FOUND = error_response(
    status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
)

router = APIRouter(prefix="/v1", tags=["documents"])


@router.post(
    "/requests/{request_id}/documents",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD,
    responses={
        201: {
            "headers": {
                "Location": {
                    "description": "Where the document can be read.",
                    "required": True,
                    "schema": {"type": "string"},
                }
            }
        },
        404: _NOT_FOUND,
        409: error_response(
            status.HTTP_409_CONFLICT,
            "The request takes no documents now (`not_accepting_documents`: an officer began "
            "to verify it), or the office sent it back without asking for this one again "
            "(`not_requested`), or it changed meanwhile (`changed_meanwhile`).",
        ),
        413: error_response(
            status.HTTP_413_CONTENT_TOO_LARGE,
            "The file is larger than its requirement allows (`document_too_large`), or than "
            "INTAKE_MAX_DOCUMENT_BYTES (`body_too_large`); refused as soon as that shows.",
        ),
        415: error_response(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "The file's bytes are not of a type the requirement accepts.",
        ),
        408: error_response(
            status.HTTP_408_REQUEST_TIMEOUT,
            "The file did not fully arrive within INTAKE_DOCUMENT_TIMEOUT_S.",
        ),
        422: error_response(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "The query does not fit (`details` names why), the service asks for no such "
            "document (`unknown_requirement`), the file is empty "
            "(`empty_document`), or it does not open as the type its first bytes claim: broken, "
            "truncated or not that type at all (`document_unreadable`), locked with a password "
            f"(`document_encrypted`), more than {MAX_PAGES} pages (`too_many_pages`) or more "
            f"than {MAX_PIXELS // 1_000_000} megapixels (`too_many_pixels`).",
        ),
        **error_responses(503),
    },
)
async def upload_document(
    request_id: RequestIdPath,
    requirement: Annotated[
        str,
        Query(
            pattern=r"^[A-Z][A-Z0-9_]{0,39}$",
            examples=["BUKU_NIKAH"],
            description="Catalogue code of the document this file is, among the service's "
            "documents; an unknown one is refused with 422 `unknown_requirement`.",
        ),
    ],
    http_request: Request,
    context: ContextDep,
    files: DocumentsDep,
    caller: CallerDep,
    response: Response,
) -> DocumentView:
    """Sends a document of the request: while the request waits for the office (SUBMITTED),
    a missing one or a new version of one sent before; when the office asked for fixes
    (NEEDS_REVISION), a missing one or a new version of one it asked for. A new version takes
    the old one's place, which is removed. The citizen, or the village operator or counter
    officer who handles the request, may send it; once an officer began to verify it, 409."""
    assert caller is not None, "the access table admits only callers with a token"
    request = await _request(request_id, context)
    admit(visibility(caller, request))
    actor = submitter(caller).actor
    declared = http_request.headers.get("content-length", "")
    try:
        attachment = await documents.attach_document(
            request=request,
            requirement=requirement,
            content=http_request.stream(),
            actor=actor,
            repository=context.repository,
            store=files.store,
            catalogue=context.catalogue,
            clock=context.clock,
            declared_bytes=int(declared) if declared.isdigit() else None,
        )
    except UnsupportedType as exc:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", str(exc)
        ) from None
    except TooLarge as exc:
        raise ApiError(status.HTTP_413_CONTENT_TOO_LARGE, "document_too_large", str(exc)) from None
    document = attachment.document
    response.headers["Location"] = f"/v1/requests/{request_id}/documents/{document.document_id}"
    return DocumentView(
        document_id=UUID(document.document_id),
        requirement=document.requirement,
        media_type=document.media_type,
        size_bytes=document.size_bytes,
        sha256=document.sha256,
        replaces=None if attachment.replaces is None else UUID(attachment.replaces),
        missing_documents=attachment.request.missing_documents,
    )


@router.get(
    "/requests/{request_id}/documents/{document_id}",
    response_class=Response,
    responses={
        200: _FILE,
        404: error_response(
            status.HTTP_404_NOT_FOUND,
            "No such request or document among those the caller may read (a replaced document "
            "is no longer read).",
        ),
        **error_responses(422, 503),
    },
)
async def read_document(
    request_id: RequestIdPath,
    document_id: Annotated[UUID, Path(description="The document's id.")],
    context: ContextDep,
    files: DocumentsDep,
    caller: CallerDep,
) -> Response:
    """A document of the request, as a download: for its citizen, the village operator or
    counter officer who handles it, and the verifiers, operators and supervisors of the
    service point that works on its case."""
    assert caller is not None, "the access table admits only callers with a token"
    request = await _request(request_id, context)
    case_service_point = request.service_point or files.default_service_point
    seen_as = document_access(caller, request, case_service_point=case_service_point)
    admit(seen_as)
    found = await documents.read_document(
        request=request,
        document_id=str(document_id),
        store=files.store,
        recorded_reader=reader(caller) if seen_as is Visibility.FULL else None,
        repository=context.repository,
        now=context.clock(),
    )
    if found is None:
        raise DocumentNotFound
    document, content = found
    filename = f"{document.requirement}{EXTENSIONS[document.media_type]}"
    return Response(
        content,
        media_type=document.media_type.value,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


async def _request(request_id: UUID, context: IntakeContext) -> CitizenRequest:
    request = await submission.get_request(
        request_id=str(request_id), repository=context.repository
    )
    if request is None:
        raise RequestNotFound
    return request
