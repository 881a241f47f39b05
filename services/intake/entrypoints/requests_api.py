"""Intake's requests API: submit, read, withdraw and resubmit a request, and look one up."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Response, status

from services.intake.domain.callers import RequestNotFound, Visibility, admit, submitter, visibility
from services.intake.domain.citizen_request import (
    CitizenRequest,
    NotCancellable,
    NotWaitingForFixes,
    SubmissionForm,
)
from services.intake.domain.tracking import TRACKING_PATTERN
from services.intake.entrypoints.api import ContextDep, IntakeContext
from services.intake.entrypoints.message_caps import CAPPED, admit_message
from services.intake.entrypoints.request_views import LookupBody, RequestView, SubmitRequestBody
from services.intake.service_layer import submission
from shared.access import CallerDep
from shared.errors import Refusal
from shared.events.envelope import Actor
from shared.http.error_bodies import error_response, error_responses
from shared.identity import Principal

_LOCATION = {
    "Location": {
        "description": "Where the request can be looked up.",
        "required": True,
        "schema": {"type": "string"},
    }
}

router = APIRouter(prefix="/v1")


@router.post(
    "/requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_description="The request was accepted.",
    responses={
        202: {"headers": _LOCATION},
        200: {
            "model": RequestView,
            "headers": _LOCATION,
            "description": "A retry with the same Idempotency-Key and form: the request it made.",
        },
        409: error_response(
            status.HTTP_409_CONFLICT,
            "`idempotency_conflict`: the Idempotency-Key was used before for another form. "
            "`already_open`: the NIK has a request for the service that is not closed yet and "
            "the service allows one at a time; the message names its tracking number, in full "
            "only to the phone the caller proved (a citizen's token) or the village operator or "
            "counter officer who may see it, else its last three characters.",
        ),
        429: CAPPED,
        **error_responses(408, 413, 422, 503),
    },
)
async def submit_request(
    body: SubmitRequestBody,
    context: ContextDep,
    caller: CallerDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=8,
            max_length=200,
            pattern=r"^[!-~]+$",
            description="A value the client chooses (printable ASCII, no spaces), e.g. a UUID. "
            "A retry with the same key and form answers 200 with the request the first made "
            "instead of making another; with another form, 409.",
        ),
    ] = None,
) -> RequestView:
    form = SubmissionForm(
        service_code=body.service_code,
        nik=body.nik,
        name=body.name,
        phone=body.phone,
        preferred_channel=body.preferred_channel,
        fields=body.fields,
        date_of_birth=body.date_of_birth,
        sex=body.sex,
        consent=body.consent,
    )
    who = submitter(caller)
    await admit_message(context.message_caps, who, body.phone, context.clock())
    outcome = await submission.submit_request(
        form=form,
        submitter=who,
        idempotency_key=idempotency_key,
        repository=context.repository,
        idempotency_keys=context.idempotency_keys,
        catalogue=context.catalogue,
        calendar=context.calendar,
        now=context.clock(),
    )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/requests/{outcome.request.request_id}"
    seen_as = visibility(caller, outcome.request) if caller is not None else None
    return RequestView.of(outcome.request, seen_as)


@router.get(
    "/requests/{request_id}",
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        **error_responses(422, 503),
    },
)
async def get_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """A citizen gets 404 for another citizen's request, exactly as for one that does not
    exist; a village operator or counter officer gets 403 outside their village or service
    point."""
    request, seen_as = await _visible(str(request_id), caller, context)
    return RequestView.of(request, seen_as)


async def _visible(
    request_id: str, caller: Principal | None, context: IntakeContext
) -> tuple[CitizenRequest, Visibility]:
    """The request as the caller may see it; 404 for a citizen's request that is not theirs,
    403 for one outside an operator's village or an officer's service point."""
    assert caller is not None, "the access table admits only callers with a token"
    request = await submission.get_request(request_id=request_id, repository=context.repository)
    if request is None:
        raise RequestNotFound
    seen_as = visibility(caller, request)
    admit(seen_as)
    return request, seen_as


@router.post(
    "/requests/{request_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        409: error_response(
            status.HTTP_409_CONFLICT, "The office began verifying it: it cannot be withdrawn."
        ),
        **error_responses(422, 503),
    },
)
async def cancel_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """Withdraws a request the office has not begun to verify; its status becomes CANCELLED
    once processing closed the case."""
    return await _citizen_step(
        str(request_id),
        caller,
        context,
        lambda request, actor, now: request.cancel(actor, now=now),
        refused=NotCancellable,
    )


@router.post(
    "/requests/{request_id}/resubmit",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this id, or none the caller may see."
        ),
        409: error_response(
            status.HTTP_409_CONFLICT, "The office did not ask for anything to be fixed."
        ),
        **error_responses(422, 503),
    },
)
async def resubmit_request(
    request_id: Annotated[
        UUID, Path(description="The request's id, in any spelling of the same UUID.")
    ],
    context: ContextDep,
    caller: CallerDep,
) -> RequestView:
    """Sends back a request after fixing what the office asked for (status NEEDS_REVISION);
    verification resumes, and the deadline moves by the time the fixing took."""
    return await _citizen_step(
        str(request_id),
        caller,
        context,
        lambda request, actor, now: request.resubmit(actor, now=now),
        refused=NotWaitingForFixes,
    )


async def _citizen_step(
    request_id: str,
    caller: Principal | None,
    context: IntakeContext,
    step: Callable[[CitizenRequest, Actor, datetime], None],
    *,
    refused: Callable[[], Refusal],
) -> RequestView:
    """Takes a step of the citizen (or who submitted for them) on a request they may see;
    `refused` is the step's refusal when its status does not allow it, or changed meanwhile."""
    request, seen_as = await _visible(request_id, caller, context)
    now = context.clock()
    actor = submitter(caller).actor
    await submission.act_on_request(
        request=request,
        step=lambda request: step(request, actor, now),
        refused=refused,
        repository=context.repository,
        now=now,
    )
    return RequestView.of(request, seen_as)


_LOCKED = error_response(
    status.HTTP_429_TOO_MANY_REQUESTS,
    "`rate_limited`: too many calls from this client. `locked`: this tracking number was tried "
    "with wrong digits too often this hour, from anywhere. `Retry-After` says how long to wait.",
)


@router.post(
    "/lookup",
    responses={
        404: error_response(
            status.HTTP_404_NOT_FOUND, "No request has this tracking number and NIK ending."
        ),
        429: _LOCKED,
        **error_responses(413, 408, 422, 503),
    },
)
async def look_up_request(body: LookupBody, context: ContextDep) -> RequestView:
    """For a citizen who did not sign in: the status, without personal data."""
    request = None
    if re.fullmatch(TRACKING_PATTERN, body.tracking_number):
        request = await submission.look_up(
            tracking_number=body.tracking_number,
            nik_last4=body.nik_last4,
            repository=context.repository,
            counts=context.counts,
            wrong_per_hour=context.wrong_lookups_per_hour,
            now=context.clock(),
        )
    if request is None:
        raise RequestNotFound
    return RequestView.of(request)
