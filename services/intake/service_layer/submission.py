"""Use cases of intake: submit a request, look one up by id or by tracking number."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.intake.domain.catalogue import ServiceCatalogue, ServiceDefinition
from services.intake.domain.citizen_request import (
    CitizenRequest,
    SubmissionForm,
    Submitter,
    submit,
)
from services.intake.domain.documents import StoredDocument, requirement_for
from services.intake.domain.open_applications import OpenApplication, already_open
from services.intake.service_layer.document_files import store_file
from services.intake.service_layer.ports import (
    DocumentStore,
    IdempotencyKeyRepository,
    RequestRepository,
)
from shared.calendar import WorkingCalendar
from shared.counts import HOUR, Counts, seconds_left
from shared.errors import Kind, Refusal
from shared.files import FileRefused

log = logging.getLogger(__name__)

SOURCE = "/adminduk/intake"
WRONG_LOOKUPS = "wrong_lookups"
HOLD_ATTEMPTS = 3
"""Rounds an application makes for the NIK's hold on a service; the second already sees the
hold of whoever took it over first, which is fresh and so refuses."""


class IdempotencyConflict(Refusal):
    """The idempotency key was already used for a different submission."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            "idempotency_conflict",
            "Idempotency-Key ini sudah dipakai untuk permohonan dengan isi yang berbeda.",
            Kind.CONFLICT,
        )
        self.request_id = request_id


class SubmissionInterrupted(Refusal):
    """Racing applications for the same NIK and service kept changing the hold; trying again
    settles it."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            "try_again",
            "Permohonan lain untuk NIK dan layanan ini sedang diproses bersamaan. "
            "Silakan coba lagi.",
            Kind.UNAVAILABLE,
            retry_after_s=1,
        )
        self.request_id = request_id


@dataclass(frozen=True)
class Enclosures:
    """Files sent with the form (a chat holds them until the citizen confirms), by catalogue
    code, and the store their bytes go to."""

    files: Mapping[str, bytes]
    store: DocumentStore


@dataclass(frozen=True)
class SubmissionOutcome:
    request: CitizenRequest
    created: bool


def idempotency_key_hash(idempotency_key: str) -> str:
    """What the server keeps of a client's key: enough to recognise it, not the key itself."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


async def submit_request(
    *,
    form: SubmissionForm,
    submitter: Submitter,
    idempotency_key: str | None,
    repository: RequestRepository,
    idempotency_keys: IdempotencyKeyRepository,
    catalogue: ServiceCatalogue,
    calendar: WorkingCalendar,
    now: datetime,
    enclosures: Enclosures | None = None,
) -> SubmissionOutcome:
    """Stores a new request and its RequestSubmitted event, or returns the one a retry refers to.

    Request ids are random, never derived from what a caller sends. A key is tied to a fresh id
    before the request is stored under it; a retry after a crash in between finds the key's id
    and stores the request then. A form the rules refuse ties no key. The tracking number is
    the repository's next, which no other request shares, so storing it needs no write of its own.

    Unless the service allows several, the NIK's one open application for the service is held
    for the id next (`AlreadyOpen` if another request holds it), before anything else is
    stored: of racing applications one holds it, and a retry finds it held for its own id. A
    retry with the key of a request made before gets that request, not a refusal.

    Enclosed files are stored first and the request holds them when it is stored, in the same
    write as its events, so RequestSubmitted names as missing only what did not come; a file
    the service's rules refuse is left out and stays missing.
    """
    checked_request = partial(
        submit, form=form, submitter=submitter, catalogue=catalogue, calendar=calendar, now=now
    )
    request_id = str(uuid.uuid4())
    request = checked_request(request_id=request_id, tracking_number="")
    if idempotency_key is not None:
        request_id = await idempotency_keys.claim(
            key_hash=idempotency_key_hash(idempotency_key), request_id=request_id, now=now
        )
        if (existing := await repository.get(request_id)) is not None:
            return _retried(existing, request.form_digest)
    tracking_number = await repository.new_tracking_number()
    service = catalogue.get(form.service_code)
    if not service.several_open_allowed:
        held = OpenApplication(request_id=request_id, tracking_number=tracking_number, held_at=now)
        await _hold_open(repository, request, held, submitter=submitter, now=now)
    documents = await _store_enclosures(enclosures, request_id=request_id, service=service, now=now)
    request = checked_request(
        request_id=request_id, tracking_number=tracking_number, documents=documents
    )
    if await repository.outgoing.commit(
        request.request_id,
        request.events,
        partial(repository.add, request),
        source=SOURCE,
        time=now,
    ):
        return SubmissionOutcome(request=request, created=True)
    await _discard(enclosures, documents)
    return await _stored_before(repository, request)


async def _stored_before(
    repository: RequestRepository, request: CitizenRequest
) -> SubmissionOutcome:
    """The request a retry with the same key stored first, under the id this one wanted."""
    existing = await repository.get(request.request_id)
    if existing is None:
        raise IdempotencyConflict(request.request_id)
    return _retried(existing, request.form_digest)


async def _hold_open(
    repository: RequestRepository,
    request: CitizenRequest,
    mine: OpenApplication,
    *,
    submitter: Submitter,
    now: datetime,
) -> None:
    """Holds the NIK's open application for the service for `mine`, taking over a hold that no
    longer blocks (`OpenApplication.blocks`); raises `already_open`'s refusal otherwise. Costs
    one write when the NIK has never applied for the service."""
    nik, code = request.applicant.nik, request.service_code
    replacing: str | None = None
    for _ in range(HOLD_ATTEMPTS):
        if await repository.hold_open(nik, code, mine, replacing=replacing):
            return
        held = await repository.open_application(nik, code)
        if held is not None and held.request_id == mine.request_id:
            return
        if held is not None:
            current = await repository.get(held.request_id)
            if held.blocks(current, nik=nik, service_code=code, now=now):
                raise already_open(code, held, current, submitter=submitter)
        replacing = None if held is None else held.request_id
    raise SubmissionInterrupted(mine.request_id)


async def _store_enclosures(
    enclosures: Enclosures | None, *, request_id: str, service: ServiceDefinition, now: datetime
) -> list[StoredDocument]:
    """The enclosures stored for the request; one the service's rules refuse is left out, so
    the request counts it missing and the citizen is told to send it again."""
    if enclosures is None:
        return []
    stored: list[StoredDocument] = []
    try:
        for code, content in enclosures.files.items():
            try:
                requirement = requirement_for(service, code)
                stored.append(
                    await store_file(
                        request_id=request_id,
                        requirement=requirement,
                        content=content,
                        store=enclosures.store,
                        clock=lambda: now,
                    )
                )
            except FileRefused as exc:
                log.warning("an enclosed %s document was refused: %s", code, type(exc).__name__)
    except BaseException:
        await _discard(enclosures, stored)
        raise
    return stored


async def _discard(enclosures: Enclosures | None, documents: Sequence[StoredDocument]) -> None:
    """Removes enclosures stored for a request that was not stored. Not after a failed write,
    which may have stored the request holding them: one left behind is never read."""
    if enclosures is not None:
        for document in documents:
            await enclosures.store.discard(document.document_id)


def _retried(existing: CitizenRequest, form_digest: str) -> SubmissionOutcome:
    if existing.form_digest != form_digest:
        raise IdempotencyConflict(existing.request_id)
    return SubmissionOutcome(request=existing, created=False)


async def get_request(*, request_id: str, repository: RequestRepository) -> CitizenRequest | None:
    """Looks a request up by its id."""
    return await repository.get(request_id)


class LookupLocked(Refusal):
    """The tracking number was looked up with wrong digits too often this hour."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            "locked",
            "Nomor pelacakan ini terkunci sementara. "
            f"Silakan coba lagi dalam {retry_after_s} detik.",
            Kind.LIMITED,
            retry_after_s=retry_after_s,
        )


async def look_up(
    *,
    tracking_number: str,
    nik_last4: str,
    repository: RequestRepository,
    counts: Counts,
    wrong_per_hour: int,
    now: datetime,
) -> CitizenRequest | None:
    """The request with this tracking number, if the NIK's last four digits match too.

    A wrong second factor and an unknown number look the same to the caller, and both count
    against the number in the shared store: after `wrong_per_hour` in an hour it is locked
    until the hour ends, right digits or not, so that spreading guesses over many addresses
    does not find the 10,000 endings' one.
    """
    if await counts.get(WRONG_LOOKUPS, tracking_number, now=now, window=HOUR) >= wrong_per_hour:
        raise LookupLocked(seconds_left(now, HOUR))
    request = await repository.find_by_tracking_number(tracking_number)
    if request is not None and hmac.compare_digest(request.applicant.nik[-4:], nik_last4):
        return request
    await counts.add(WRONG_LOOKUPS, tracking_number, now=now, window=HOUR)
    return None


async def act_on_request(
    *,
    request: CitizenRequest,
    step: Callable[[CitizenRequest], None],
    refused: Callable[[], Refusal],
    repository: RequestRepository,
    now: datetime,
) -> None:
    """Takes a citizen's step on their request (withdraw it, send it back fixed) and queues its
    event for processing, if the status the step was allowed in still holds; if it changed
    meanwhile, the step gets its own refusal (`refused`), the status that allowed it gone."""
    before = request.status
    step(request)
    moved = request.history[-1] if request.status is not before else None
    if not await repository.outgoing.commit(
        request.request_id,
        request.events,
        partial(repository.add_events, request.request_id, status=before, moved=moved),
        source=SOURCE,
        time=now,
    ):
        raise refused()
