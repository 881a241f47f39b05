"""The cases this process wrote or read lately, so that the handlers of the events those writes
caused take what they need from memory instead of reading the case back.

`KnownCases` is the case repository every use case talks to: it passes each call on to the
stored cases and keeps, for each case it saw, the facts the consumer needs (where it is queued,
its deadline's start, its steps for the monthly report, which documents it holds), without the
applicant's personal data. A case's queue and lane never change, its steps only grow and its
documents are only added or replaced, so facts from an older read are never wrong, only
incomplete: a handler that does not find what it needs in them reads the case, once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from services.processing.domain import report_counting
from services.processing.domain.case import Case, Step
from services.processing.domain.priority import Lane
from services.processing.service_layer.ports import CaseRepository
from shared.events.envelope import CloudEvent
from shared.events.models.cases import CaseEvent

CAPACITY = 10_000

EarlierProgress = Callable[[str], Awaitable[report_counting.Progress | None]]
"""Where the report stood with a case opened before cases kept their steps, by its id."""


@dataclass(frozen=True)
class CaseFacts:
    revision: int
    service_point: str
    lane: Lane
    opened_at: datetime
    start: report_counting.Progress | None
    """How the report first saw the case; None until learnt for a case opened before cases
    kept their steps."""
    steps: tuple[Step, ...]
    documents: frozenset[str]
    """Catalogue codes of the documents it holds."""
    missing: frozenset[str]

    @classmethod
    def of(cls, case: Case, revision: int) -> CaseFacts:
        start = None
        if case.submitted_at is not None and case.channel is not None:
            start = report_counting.opening(
                service=case.service_code,
                channel=case.channel,
                nik=case.applicant.nik,
                submitted_at=case.submitted_at,
            )
        return cls(
            revision=revision,
            service_point=case.service_point,
            lane=case.lane,
            opened_at=case.opened_at,
            start=start,
            steps=tuple(case.steps),
            documents=frozenset(case.documents),
            missing=frozenset(case.missing_documents),
        )


class KnownCases:
    """A `CaseRepository` that remembers the facts of the last `capacity` cases it handled.

    `earlier` tells where the report stood with a case opened before cases kept their steps;
    its steps since then are kept, so the report follows it from there."""

    def __init__(
        self,
        repository: CaseRepository,
        *,
        capacity: int = CAPACITY,
        earlier: EarlierProgress | None = None,
    ) -> None:
        self._repository = repository
        self.outgoing = repository.outgoing
        self._capacity = capacity
        self._earlier = earlier
        self._facts: OrderedDict[str, CaseFacts] = OrderedDict()

    async def add(self, case: Case, *, processed_event_id: str, outbox: list[CloudEvent]) -> bool:
        added = await self._repository.add(
            case, processed_event_id=processed_event_id, outbox=outbox
        )
        if added:
            self._note(case, 0)
        return added

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        loaded = await self._repository.get(request_id)
        if loaded is not None:
            self._note(*loaded)
        return loaded

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        saved = await self._repository.save(case, revision=revision, outbox=outbox)
        if saved:
            self._note(case, revision + 1)
        return saved

    async def note_document(
        self, request_id: str, requirement: str, document_id: str, replaces: str | None
    ) -> bool | None:
        noted = await self._repository.note_document(request_id, requirement, document_id, replaces)
        known = self._facts.get(request_id)
        if noted and known is not None:
            self._facts[request_id] = replace(
                known,
                revision=known.revision + 1,
                documents=known.documents | {requirement},
                missing=known.missing - {requirement},
            )
        return noted

    async def facts(self, request_id: str) -> CaseFacts | None:
        """The case's facts; read from the stored case only when this process knows none."""
        known = self._facts.get(request_id)
        if known is not None:
            return known
        await self.get(request_id)
        return self._facts.get(request_id)

    async def trail(self, event: CaseEvent) -> report_counting.Trail | None:
        """The case's trail up to `event` at least; None when its case keeps none."""
        request_id = event.request_id
        known = self._facts.get(request_id)
        if known is None or not report_counting.holds(known.steps, event):
            await self.get(request_id)
            known = self._facts.get(request_id)
        if known is None or not report_counting.holds(known.steps, event):
            return None
        start = known.start
        if start is None:
            start = None if self._earlier is None else await self._earlier(request_id)
            if start is None:
                return None
            self._facts[request_id] = replace(known, start=start)
        return report_counting.Trail(start=start, steps=known.steps)

    def _note(self, case: Case, revision: int) -> None:
        known = self._facts.get(case.request_id)
        if known is not None and known.revision > revision:
            return
        facts = CaseFacts.of(case, revision)
        if facts.start is None and known is not None:
            facts = replace(facts, start=known.start)
        self._facts[case.request_id] = facts
        self._facts.move_to_end(case.request_id)
        while len(self._facts) > self._capacity:
            self._facts.popitem(last=False)
