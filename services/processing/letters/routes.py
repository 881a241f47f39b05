"""Official letters over HTTP: the clerk registers letters and their scans and replies, the head
of office disposes them, officials read, pass on, follow up and close their dispositions (those
steps in `step_routes.py`).

Officials are staff with a service point (their unit). Only a letter's clerk, the head of its
office (a signer of the unit that registered it) and those on its chain take steps on it, and a
confidential letter is read only by them: anyone else gets 403, recorded for auditors. A step
answers with the letter as reading it would, the read of a confidential one recorded too.
Two people changing one letter at once: one wins, the other gets 409 and reads it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from services.processing.domain.case import Calendar
from services.processing.entrypoints.api import officer
from services.processing.letters import service_layer as letters
from services.processing.letters import worklists
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.domain.refusals import NoScan
from services.processing.letters.ports import (
    LetterIndex,
    LetterRepository,
    LetterScans,
)
from services.processing.letters.service_layer import Staff
from services.processing.letters.views import (
    HeldView,
    InboxView,
    LetterBody,
    LetterView,
    OverdueGroup,
    OverdueView,
)
from services.processing.letters.worklists import Held
from shared.access import CallerDep
from shared.clock import Clock
from shared.dependencies import provided
from shared.errors import ApiError
from shared.files import Accepted, MediaType, TooLarge, UnsupportedType
from shared.http.error_bodies import Responses, error_response, error_responses
from shared.identity import Principal, Role

SCAN_PATH = "/v1/letters/{letter_id}/scan"


@dataclass(frozen=True)
class LettersContext:
    repository: LetterRepository
    scans: LetterScans
    index: LetterIndex
    policy: LetterPolicy
    calendar: Calendar
    clock: Clock
    due_soon_within: timedelta
    max_scan_bytes: int


LettersDep = Annotated[LettersContext, Depends(provided(LettersContext))]
LetterIdPath = Annotated[
    str, Path(pattern=r"^\d{4}-\d{5}$", description="The letter's agenda id, e.g. 2026-00042.")
]
DispositionIdPath = Annotated[
    str, Path(pattern=r"^D\d{1,4}$", description="The disposition's id within the letter.")
]


def staff(caller: Principal | None) -> Staff:
    """The caller as an official, their service point their unit."""
    acting = officer(caller)
    return Staff(
        actor=acting.actor,
        unit=acting.service_point,
        head_of_office=Role.SIGNER in acting.roles,
        clerk=Role.LETTER_CLERK in acting.roles,
    )


FORBIDDEN: Responses = {
    403: error_response(
        status.HTTP_403_FORBIDDEN,
        "The caller's role does not allow the route, the token has no unit (`missing_scope`), "
        "or the letter or step is not theirs: a confidential letter off their chain "
        "(`confidential`, recorded), a step on a letter by anyone but its clerk, the head of "
        "its office and its chain (`not_on_letter`, recorded), a disposition not given to them "
        "(`not_holder`) or by them (`not_disposer`), a first disposition or a closing by "
        "anyone but the head of office, a scan by anyone but the letter's clerk "
        "(`not_registrar`).",
    )
}
STEP_ERRORS: Responses = {
    **FORBIDDEN,
    **error_responses(404, 422, 503),
    409: error_response(
        status.HTTP_409_CONFLICT,
        "The letter or disposition is not in a state for this step, or someone changed it "
        "meanwhile (`changed_meanwhile`).",
    ),
}

router = APIRouter(prefix="/v1/letters", tags=["letters"])


@router.get("/inbox", responses={**FORBIDDEN, **error_responses(422, 503)})
async def inbox(context: LettersDep, caller: CallerDep) -> InboxView:
    """The caller's dispositions still waiting for them: unread, to follow up, due soon and
    overdue, the earliest deadline first."""
    found = await worklists.inbox(
        official_id=staff(caller).actor.id,
        repository=context.repository,
        index=context.index,
        calendar=context.calendar,
        due_soon_within=context.due_soon_within,
        now=context.clock(),
    )
    return InboxView(
        unread=[HeldView.of(item) for item in found.unread],
        to_follow_up=[HeldView.of(item) for item in found.to_follow_up],
        due_soon=[HeldView.of(item) for item in found.due_soon],
        overdue=[HeldView.of(item) for item in found.overdue],
    )


@router.get("/overdue", responses={**FORBIDDEN, **error_responses(422, 503)})
async def overdue(context: LettersDep, caller: CallerDep) -> OverdueView:
    """For the head of office and supervisors who chase late work: every disposition past its
    deadline among the office's open letters, by unit and by official, with who holds it and
    since when, which is what chasing it takes. A confidential letter's disposition and
    follow-up notes are withheld (`notes_withheld`) from every caller: this list is no recorded
    read, so whoever may read them opens the letter, and that read is recorded."""
    late = await worklists.overdue(
        service_point=staff(caller).unit,
        repository=context.repository,
        index=context.index,
        now=context.clock(),
    )
    return OverdueView(
        by_unit=_grouped(late, lambda item: item.disposition.to.unit),
        by_official=_grouped(late, lambda item: item.disposition.to.id),
    )


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses={**FORBIDDEN, **error_responses(422, 503)}
)
async def register(
    body: LetterBody, context: LettersDep, caller: CallerDep, response: Response
) -> LetterView:
    """Registers an incoming letter under the year's next agenda number."""
    letter = await letters.register_letter(
        details=body.details(),
        staff=staff(caller),
        repository=context.repository,
        policy=context.policy,
        calendar=context.calendar,
        now=context.clock(),
    )
    response.headers["Location"] = f"/v1/letters/{letter.letter_id}"
    return LetterView.of(letter)


@router.get("/{letter_id}", responses={**FORBIDDEN, **error_responses(404, 422, 503)})
async def read_letter(
    letter_id: LetterIdPath, context: LettersDep, caller: CallerDep
) -> LetterView:
    """The letter and its chain. A confidential one only for its clerk, the head of its office
    and those on its chain; the read, or the refused attempt, is recorded for auditors."""
    letter = await letters.view(
        letter_id=letter_id,
        staff=staff(caller),
        repository=context.repository,
        now=context.clock(),
    )
    return LetterView.of(letter)


@router.put(
    "/{letter_id}/scan",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The PDF's bytes as the whole body; its type is read from them, not "
            "from Content-Type.",
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("application/pdf", "application/octet-stream")
            },
        }
    },
    responses={
        **STEP_ERRORS,
        413: error_response(
            status.HTTP_413_CONTENT_TOO_LARGE,
            "The scan is larger than PROCESSING_MAX_LETTER_SCAN_BYTES (`scan_too_large`, "
            "`body_too_large`); refused as soon as that shows, nothing of it kept.",
        ),
        415: error_response(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "The file is not a PDF."),
    },
)
async def upload_scan(
    letter_id: LetterIdPath, http_request: Request, context: LettersDep, caller: CallerDep
) -> LetterView:
    """The scanned letter as a PDF, by the clerk who registered it, who is checked before the
    bytes are read; its type is read from them, and it is stored as it arrives. A new scan
    replaces the old one."""
    rule = Accepted(
        name="pindaian surat", media_types=(MediaType.PDF,), max_bytes=context.max_scan_bytes
    )
    try:
        letter = await letters.attach_scan(
            letter_id=letter_id,
            staff=staff(caller),
            content=http_request.stream(),
            rule=rule,
            scans=context.scans,
            repository=context.repository,
            clock=context.clock,
        )
    except UnsupportedType as exc:
        raise ApiError(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", str(exc)
        ) from None
    except TooLarge as exc:
        raise ApiError(status.HTTP_413_CONTENT_TOO_LARGE, "scan_too_large", str(exc)) from None
    return LetterView.of(letter)


@router.get(
    "/{letter_id}/scan",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
        **FORBIDDEN,
        **error_responses(404, 422, 503),
    },
)
async def read_scan(
    letter_id: LetterIdPath, context: LettersDep, caller: CallerDep
) -> StreamingResponse:
    """The scanned letter, under the same rules (and records) as reading the letter, sent as it
    is read."""
    found = await letters.read_scan(
        letter_id=letter_id,
        staff=staff(caller),
        scans=context.scans,
        repository=context.repository,
        now=context.clock(),
    )
    if found is None:
        raise NoScan
    return StreamingResponse(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Length": str(found.size_bytes),
            "Content-Disposition": f'attachment; filename="surat-{letter_id}.pdf"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


def _grouped(late: list[Held], key: Callable[[Held], str]) -> list[OverdueGroup]:
    groups: dict[str, list[Held]] = {}
    for item in late:
        groups.setdefault(key(item), []).append(item)
    return [
        OverdueGroup(key=name, count=len(items), dispositions=[HeldView.of(i) for i in items])
        for name, items in sorted(groups.items(), key=lambda group: (-len(group[1]), group[0]))
    ]
