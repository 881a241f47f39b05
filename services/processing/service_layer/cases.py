"""Processing's use cases: open a case for a request, keep the work queues, and the officers'
steps on cases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from services.processing.domain.case import Calendar, Case, CaseRefused, NotAllowed
from services.processing.domain.case_opening import open_case
from services.processing.domain.case_stages import STAGE_ROLES, stage_after
from services.processing.domain.priority import Lane
from services.processing.domain.queues import QueueKey, passable
from services.processing.service_layer.known_cases import CaseFacts, KnownCases
from services.processing.service_layer.ports import CaseRepository, WorkQueues
from shared.errors import AwaitingEarlierEvent, Conflict, Kind, Refusal
from shared.events.envelope import Actor, Event
from shared.events.models.cases import CaseReleased, CaseStage
from shared.events.models.requests import (
    DocumentAttached,
    RequestCancelled,
    RequestCompleted,
    RequestResubmitted,
    RequestSubmitted,
)
from shared.identity import Role

SOURCE = "/adminduk/processing"
SCAN = 4
"""Slots read at once from the front of a queue when its first one is not the one taken."""


async def open_case_for_request(
    *,
    submitted: RequestSubmitted,
    event_id: str,
    repository: CaseRepository,
    calendar: Calendar,
    default_service_point: str,
    now: datetime,
) -> None:
    """Opens a case for a submitted request; a redelivered event opens nothing."""
    case = open_case(
        submitted, now=now, calendar=calendar, default_service_point=default_service_point
    )
    await repository.outgoing.commit(
        case.request_id,
        case.events,
        partial(repository.add, case, processed_event_id=event_id),
        source=SOURCE,
        time=now,
    )


async def cancel_case(
    *,
    cancelled: RequestCancelled,
    repository: CaseRepository,
    now: datetime,
) -> None:
    """Closes the case of a withdrawn request, unless its verification began meanwhile (then
    the citizen sees it in progress); a repeated withdrawal changes nothing."""
    while True:
        loaded = await repository.get(cancelled.request_id)
        if loaded is None:
            raise AwaitingEarlierEvent(f"case {cancelled.request_id} is not opened yet")
        case, revision = loaded
        try:
            case.cancel(cancelled.actor, now=now)
        except CaseRefused:
            return
        if await _save(case, revision, repository, now):
            return


async def resume_case(
    *,
    resubmitted: RequestResubmitted,
    repository: CaseRepository,
    calendar: Calendar,
    now: datetime,
) -> None:
    """Resumes verification of a case the citizen fixed, moving its deadline by the time that
    took; a repeated resubmission changes nothing."""
    while True:
        loaded = await repository.get(resubmitted.request_id)
        if loaded is None:
            raise AwaitingEarlierEvent(f"case {resubmitted.request_id} is not opened yet")
        case, revision = loaded
        try:
            case.resubmit(resubmitted.actor, now=now, calendar=calendar)
        except CaseRefused:
            return
        if await _save(case, revision, repository, now):
            return


async def note_documents(
    *, event: DocumentAttached | RequestCompleted, repository: KnownCases
) -> None:
    """Keeps the case's record of its request's documents; a redelivered or outdated event
    changes nothing. The case publishes nothing for it, so the write queues no event.

    A document is noted by one conditional write. The completion that follows a request's
    last document usually tells the case nothing new, which its known facts show without a
    read (they can lag, never run ahead: documents are only added or replaced)."""
    request_id = event.request_id
    if isinstance(event, DocumentAttached):
        noted = await repository.note_document(
            request_id, event.requirement, event.document_id, event.replaces
        )
        if noted is None:
            raise AwaitingEarlierEvent(f"case {request_id} is not opened yet")
        return
    known = await repository.facts(request_id)
    if known is not None and not known.missing and known.documents >= set(event.documents):
        return
    while True:
        loaded = await repository.get(request_id)
        if loaded is None:
            raise AwaitingEarlierEvent(f"case {request_id} is not opened yet")
        case, revision = loaded
        if not case.note_complete(event.documents):
            return
        if await repository.save(case, revision=revision, outbox=[]):
            return


async def queue_case(
    *, facts: CaseFacts, request_id: str, after: Event, queues: WorkQueues, at: datetime
) -> None:
    """Puts a case that waits for work after the event `after` at the end of that stage's queue.

    A case taken or moved on since is skipped when officers take work, so queuing it from an
    event that is not its latest, or twice, changes nothing.
    """
    stage = stage_after(after)
    if stage is None:
        return
    lane = Lane.RETURNED if isinstance(after, CaseReleased) else facts.lane
    await queues.enqueue(QueueKey(facts.service_point, stage, lane), request_id, at)


class NoServicePoint(Refusal):
    """A staff token that names no service point: the officer has no queue or cases to act on."""

    def __init__(self) -> None:
        super().__init__(
            "missing_scope",
            "Token petugas tidak memuat tempat layanan (service_point).",
            Kind.FORBIDDEN,
        )


@dataclass(frozen=True)
class Officer:
    """A member of staff acting through the console: who, in which roles, where."""

    actor: Actor
    roles: frozenset[Role]
    service_point: str

    def role_for(self, stage: CaseStage) -> Role | None:
        return next((role for role in Role if role in self.roles & STAGE_ROLES[stage]), None)


class CaseNotFound(Refusal):
    """No case has this id at the officer's service point."""

    def __init__(self, request_id: str) -> None:
        super().__init__("not_found", "Kasus tidak ditemukan.", Kind.NOT_FOUND)
        self.request_id = request_id


def _changed() -> Conflict:
    """Someone else changed the case between reading and writing it, each time it was tried."""
    return Conflict(
        "changed_meanwhile", "Kasus ini baru saja diubah petugas lain. Muat ulang dan coba lagi."
    )


class Turns:
    """Officers taking work from one queue through this process take turns at it. All would
    read the same front slot and race for its case, and every loser would pay reads and a
    failed write for nothing; other processes' officers still race, which the case's
    conditional save settles."""

    def __init__(self) -> None:
        self._locks: dict[QueueKey, asyncio.Lock] = {}

    def at(self, key: QueueKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


async def claim_next(
    *,
    officer: Officer,
    stage: CaseStage | None,
    repository: CaseRepository,
    queues: WorkQueues,
    now: datetime,
    turns: Turns | None = None,
) -> Case | None:
    """Takes the oldest case waiting for work the officer does: priority lane first, then
    released cases, then the rest. None when nothing waits."""
    stages = [stage] if stage is not None else list(CaseStage)
    for candidate_stage in stages:
        role = officer.role_for(candidate_stage)
        if role is None:
            continue
        for lane in Lane:
            key = QueueKey(officer.service_point, candidate_stage, lane)
            async with turns.at(key) if turns is not None else contextlib.nullcontext():
                case = await _take_from(key, officer, role, repository, queues, now)
            if case is not None:
                return case
    return None


async def _take_from(
    key: QueueKey,
    officer: Officer,
    role: Role,
    repository: CaseRepository,
    queues: WorkQueues,
    now: datetime,
) -> Case | None:
    """Claims the first case still waiting in the queue, forgetting the slots before it whose
    cases moved on. A slot still being written stops the forgetting, not the search.

    The front slot is read alone first: its case is usually the one taken. Only when it is not
    are `SCAN` slots read at once."""
    limit = 1
    still_waiting: set[int] = set()
    while slots := await queues.waiting(key, limit):
        forgettable = -1
        at_front = True
        for index, slot in enumerate(slots):
            if slot.request_id is None:
                if at_front and passable(slots[index + 1 :], now):
                    forgettable = slot.number
                else:
                    at_front = False
                continue
            if slot.number in still_waiting:
                at_front = False
                continue
            case, waiting = await _claim_if_waiting(
                slot.request_id, key, officer, role, repository, now
            )
            if case is not None:
                if at_front:
                    forgettable = slot.number
                if forgettable >= 0:
                    await queues.advance(key, forgettable)
                return case
            if waiting:
                still_waiting.add(slot.number)
                at_front = False
            elif at_front:
                forgettable = slot.number
        if forgettable >= 0:
            await queues.advance(key, forgettable)
        if limit < SCAN:
            limit = SCAN
            continue
        if not at_front or len(slots) < limit:
            return None
    return None


async def _claim_if_waiting(
    request_id: str,
    key: QueueKey,
    officer: Officer,
    role: Role,
    repository: CaseRepository,
    now: datetime,
) -> tuple[Case | None, bool]:
    """Claims the case if it still waits in the queue: the claimed case, or None and whether it
    still waits (its every save lost to changes that left it waiting, e.g. documents noted).

    A case that moved on (claimed by another officer, cancelled) may be forgotten by the queue;
    one that still waits may not, or no one could take it any more.
    """
    for _ in range(STEP_ATTEMPTS):
        loaded = await repository.get(request_id)
        if loaded is None or not _waiting_in(loaded[0], key):
            return None, False
        case, revision = loaded
        case.claim_for(officer.actor, role, now=now)
        if await _save(case, revision, repository, now):
            return case, False
    return None, True


def _waiting_in(case: Case, key: QueueKey) -> bool:
    return (
        case.stage is key.stage and case.claim is None and case.service_point == key.service_point
    )


STEP_ATTEMPTS = 3


async def act(
    *,
    request_id: str,
    officer: Officer,
    step: Callable[[Case], None],
    repository: CaseRepository,
    now: datetime,
) -> Case:
    """Applies one officer's step to a case of their service point, or raises CaseRefused,
    CaseNotFound or, if others kept changing it, Conflict.

    A case changed between reading and saving it (another officer's step, or processing noting
    a document) is read again and the step judged anew on what it is now: a step the change
    made wrong is refused by the case's own rules, any other is taken.
    """
    for _ in range(STEP_ATTEMPTS):
        loaded = await repository.get(request_id)
        if loaded is None or loaded[0].service_point != officer.service_point:
            raise CaseNotFound(request_id)
        case, revision = loaded
        step(case)
        if await _save(case, revision, repository, now):
            return case
    raise _changed()


async def claim(
    *,
    request_id: str,
    officer: Officer,
    reason_code: str,
    repository: CaseRepository,
    now: datetime,
) -> Case:
    """Takes one case ahead of its turn, for a stated reason that auditors see."""

    def take(case: Case) -> None:
        stage = case.stage
        role = None if stage is None else officer.role_for(stage)
        if stage is None or role is None:
            raise NotAllowed("wrong_role", "Peran Anda tidak mengerjakan tahap kasus ini.")
        case.claim_for(officer.actor, role, now=now, out_of_order_reason=reason_code)

    return await act(
        request_id=request_id,
        officer=officer,
        step=take,
        repository=repository,
        now=now,
    )


async def view(
    *,
    request_id: str,
    officer: Officer,
    repository: CaseRepository,
    now: datetime,
) -> Case:
    """The case with its personal data; reading it is recorded for auditors."""
    while True:
        try:
            return await act(
                request_id=request_id,
                officer=officer,
                step=lambda case: case.view(officer.actor, now=now),
                repository=repository,
                now=now,
            )
        except Conflict:
            continue


async def _save(case: Case, revision: int, repository: CaseRepository, now: datetime) -> bool:
    return await repository.outgoing.commit(
        case.request_id,
        case.events,
        partial(repository.save, case, revision=revision),
        source=SOURCE,
        time=now,
    )
