"""The consumer's handlers take what the writes before them left in memory: a request's events
read its case back only where this process never saw it, and facts from an older read never
count a step wrongly."""

from __future__ import annotations

from datetime import timedelta

from services.processing.domain.case import Case
from services.processing.domain.report import month_of
from services.processing.entrypoints.consumer import Dependencies, subscription
from services.processing.service_layer import cases
from services.processing.service_layer.cases import Officer
from services.processing.service_layer.known_cases import KnownCases
from services.processing.service_layer.report import monthly_report
from shared.calendar import WorkingCalendar
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.cases import CaseClaimed, CaseOpened
from shared.events.models.requests import DocumentAttached, RequestCompleted
from shared.identity import Role
from shared.messagebus import Dispatch
from shared.outbox import Outbox
from tests.builders import CITIZEN, T0, request_submitted, wrapped
from tests.fakes import (
    CallCounter,
    FakeAtRisk,
    FakeCaseRepository,
    FakeClock,
    FakeQueues,
    FakeTimers,
    FlatCalendar,
)
from tests.fakes_letters import fake_letters
from tests.unit.processing.test_processing_report import FakeReportStore

VERIFIER = Officer(
    actor=Actor(
        kind=ActorKind.STAFF, id="ver-1", service_point="KANTOR_DINAS", channel=Channel.API
    ),
    roles=frozenset({Role.VERIFIER}),
    service_point="KANTOR_DINAS",
)


class CountedReads(FakeCaseRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        self.reads += 1
        return await super().get(request_id)


class Processing:
    """One processing instance over the cases all instances share."""

    def __init__(self, stored: CountedReads, report: FakeReportStore) -> None:
        self.outbox = CallCounter()
        self.queues = FakeQueues()
        repository = KnownCases(stored)
        repository.outgoing = Outbox()
        repository.outgoing.register(self.outbox)
        self.deps = Dependencies(
            repository=repository,
            queues=self.queues,
            timers=FakeTimers(),
            at_risk=FakeAtRisk(),
            calendar=FlatCalendar(),
            default_service_point="KANTOR_DINAS",
            report=report,
            letters=fake_letters(),
        )
        self.dispatch: Dispatch = subscription.bind(self.deps, FakeClock(T0))

    def published(self, event_type: type[CaseOpened | CaseClaimed]) -> list[CloudEvent]:
        return [event for event in self.outbox.events if event.type == event_type.event_type]

    async def claim(self) -> None:
        taken = await cases.claim_next(
            officer=VERIFIER,
            stage=None,
            repository=self.deps.repository,
            queues=self.queues,
            now=T0 + timedelta(hours=1),
        )
        assert taken is not None


async def submit(processing: Processing) -> None:
    submitted = request_submitted("req-1").model_copy(update={"missing_documents": ["KK"]})
    await processing.dispatch(wrapped(submitted))
    for event in (
        DocumentAttached(
            actor=CITIZEN,
            request_id="req-1",
            document_id="doc-1",
            requirement="KK",
            media_type="application/pdf",
            size_bytes=100,
            sha256="0" * 64,
            attached_at=T0,
        ),
        RequestCompleted(
            actor=CITIZEN, request_id="req-1", documents={"KK": "doc-1"}, completed_at=T0
        ),
    ):
        await processing.dispatch(wrapped(event))
    for opened in processing.published(CaseOpened):
        await processing.dispatch(opened)


async def received_and_waited(report: FakeReportStore) -> tuple[int, dict[str, float]]:
    result = await monthly_report(
        month=month_of(T0), store=report, calendar=WorkingCalendar(), now=T0 + timedelta(days=1)
    )
    total = next(row for row in result.rows if row.dimension == "total")
    return total.received, total.state_mean_s


async def test_a_requests_events_read_nothing_back_where_its_case_was_written() -> None:
    stored, report = CountedReads(), FakeReportStore()
    processing = Processing(stored, report)

    await submit(processing)
    assert stored.reads == 0
    await processing.claim()
    reads_of_the_claim = stored.reads
    for claimed in processing.published(CaseClaimed):
        await processing.dispatch(claimed)

    assert stored.reads == reads_of_the_claim
    assert stored.cases["req-1"].documents == {"KK": "doc-1"}
    assert await received_and_waited(report) == (1, {"SUBMITTED": 3600.0})


async def test_another_instances_step_is_read_once_and_counted_from_the_steps_before_it() -> None:
    stored, report = CountedReads(), FakeReportStore()
    here, there = Processing(stored, report), Processing(stored, report)
    await submit(here)
    for opened in here.published(CaseOpened):
        await there.dispatch(opened)

    await there.claim()
    before = stored.reads
    for claimed in there.published(CaseClaimed):
        await here.dispatch(claimed)

    assert stored.reads == before + 1
    assert await received_and_waited(report) == (1, {"SUBMITTED": 3600.0})
