"""Taking work: the oldest waiting case first, priority cases ahead, and every step once."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime, timedelta

import pytest

from services.processing.domain.case import Case, CaseState
from services.processing.domain.priority import Lane
from services.processing.domain.queues import WRITE_GRACE, QueueKey, Slot
from services.processing.service_layer import cases
from services.processing.service_layer.cases import CaseNotFound, Officer, Turns
from services.processing.service_layer.known_cases import KnownCases
from shared.errors import Conflict
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent, Event
from shared.events.models.cases import CaseReleased, CaseStage
from shared.events.models.requests import RequestCancelled, RequestResubmitted
from shared.identity import Role
from tests.builders import SYSTEM, T0, case_opened, request_submitted
from tests.fakes import FakeCaseRepository, FakeQueues, FlatCalendar

NOW = T0 + timedelta(hours=1)
KEY = QueueKey("KANTOR_DINAS", CaseStage.VERIFICATION, Lane.NORMAL)


def officer(name: str = "verifier-1", *roles: Role, service_point: str = "KANTOR_DINAS") -> Officer:
    held = frozenset(roles or (Role.VERIFIER,))
    return Officer(
        actor=Actor(
            kind=ActorKind.STAFF, id=name, service_point=service_point, channel=Channel.API
        ),
        roles=held,
        service_point=service_point,
    )


class Office:
    def __init__(self) -> None:
        self.repository = FakeCaseRepository()
        self.queues = FakeQueues()

    async def submit(
        self,
        request_id: str,
        *,
        minutes: float,
        service_code: str = "KK_BARU",
        nik: str = "3516091204800001",
    ) -> None:
        submitted = request_submitted(request_id, service_code=service_code)
        submitted = submitted.model_copy(
            update={"applicant": submitted.applicant.model_copy(update={"nik": nik})}
        )
        opened_at = T0 + timedelta(minutes=minutes)
        await cases.open_case_for_request(
            submitted=submitted,
            event_id=f"evt-{request_id}",
            repository=self.repository,
            calendar=FlatCalendar(),
            default_service_point="KANTOR_DINAS",
            now=opened_at,
        )
        await self.queue(request_id, at=opened_at)

    async def queue(self, request_id: str, *, at: datetime = NOW, returned: bool = False) -> None:
        facts = await KnownCases(self.repository).facts(request_id)
        assert facts is not None
        after: Event = case_opened(request_id, opened_at=at)
        if returned:
            after = CaseReleased(
                actor=SYSTEM,
                request_id=request_id,
                state="IN_VERIFICATION",
                at=at,
                stage=CaseStage.VERIFICATION,
            )
        await cases.queue_case(
            facts=facts, request_id=request_id, after=after, queues=self.queues, at=at
        )

    async def next(self, who: Officer | None = None, stage: CaseStage | None = None) -> str | None:
        case = await cases.claim_next(
            officer=who or officer(),
            stage=stage,
            repository=self.repository,
            queues=self.queues,
            now=NOW,
        )
        return None if case is None else case.request_id


@pytest.fixture
def office() -> Office:
    return Office()


async def test_the_oldest_case_is_taken_first(office: Office) -> None:
    for number in range(3):
        await office.submit(f"req-{number}", minutes=number)

    taken = [await office.next(officer(f"v-{n}")) for n in range(4)]

    assert taken == ["req-0", "req-1", "req-2", None]


async def test_a_death_certificate_and_an_elderly_applicant_go_ahead(office: Office) -> None:
    await office.submit("old-request", minutes=0)
    await office.submit("elderly", minutes=5, nik="3516091204500001")
    await office.submit("funeral", minutes=9, service_code="AKTA_MATI")

    taken = [await office.next(officer(f"v-{n}")) for n in range(3)]

    assert taken == ["elderly", "funeral", "old-request"]


async def test_a_released_case_comes_before_newer_ones(office: Office) -> None:
    await office.submit("req-0", minutes=0)
    await office.submit("req-1", minutes=1)
    first = officer("v-1")
    assert await office.next(first) == "req-0"

    await cases.act(
        request_id="req-0",
        officer=first,
        step=lambda case: case.release(first.actor, now=NOW),
        repository=office.repository,
        now=NOW,
    )
    await office.queue("req-0", returned=True)

    assert await office.next(officer("v-2")) == "req-0"
    assert await office.next(officer("v-3")) == "req-1"


async def test_an_officer_takes_only_their_service_points_work(office: Office) -> None:
    await office.submit("req-0", minutes=0)

    assert await office.next(officer("v-1", service_point="MPP_MOJOKERTO")) is None
    assert await office.next(officer("v-2")) == "req-0"


async def test_an_officer_takes_only_work_of_their_roles(office: Office) -> None:
    await office.submit("req-0", minutes=0)

    assert await office.next(officer("s-1", Role.SIGNER)) is None
    assert await office.next(officer("o-1", Role.OPERATOR)) is None


async def test_cases_taken_out_of_order_are_skipped_and_forgotten(office: Office) -> None:
    for number in range(3):
        await office.submit(f"req-{number}", minutes=number)
    jumper = officer("v-1")
    await cases.claim(
        request_id="req-0",
        officer=jumper,
        reason_code="FUNERAL",
        repository=office.repository,
        now=NOW,
    )

    assert await office.next(officer("v-2")) == "req-1"
    assert office.queues.heads[KEY.id] == 2


async def test_a_case_queued_twice_is_taken_once(office: Office) -> None:
    await office.submit("req-0", minutes=0)
    await office.queue("req-0")

    assert await office.next(officer("v-1")) == "req-0"
    assert await office.next(officer("v-2")) is None


async def test_an_empty_slot_still_being_written_is_waited_for_not_skipped(office: Office) -> None:
    office.queues.slots[KEY.id] = [Slot(number=0, request_id=None, at=None)]
    await office.submit("req-1", minutes=59.5)

    assert await office.next(officer("v-1")) == "req-1"
    assert office.queues.heads.get(KEY.id, 0) == 0


async def test_an_empty_slot_is_forgotten_once_later_ones_are_old(office: Office) -> None:
    office.queues.slots[KEY.id] = [Slot(number=0, request_id=None, at=None)]
    await office.submit("req-1", minutes=0)
    assert NOW - (T0 + timedelta(minutes=0)) >= WRITE_GRACE

    assert await office.next(officer("v-1")) == "req-1"
    assert office.queues.heads[KEY.id] == 2


async def test_the_next_claim_after_a_full_page_of_taken_cases_finds_the_rest(
    office: Office,
) -> None:
    for number in range(cases.SCAN + 3):
        await office.submit(f"req-{number:02d}", minutes=number)
    for number in range(cases.SCAN + 1):
        jumper = officer(f"j-{number}")
        await cases.claim(
            request_id=f"req-{number:02d}",
            officer=jumper,
            reason_code="SUPERVISOR_INSTRUCTION",
            repository=office.repository,
            now=NOW,
        )

    assert await office.next(officer("v-1")) == f"req-{cases.SCAN + 1:02d}"


async def test_a_stale_write_is_a_conflict_and_changes_nothing(office: Office) -> None:
    await office.submit("req-0", minutes=0)
    first, second = officer("v-1"), officer("v-2")
    loaded = await office.repository.get("req-0")
    assert loaded is not None
    await office.repository.save(loaded[0], revision=loaded[1], outbox=[])

    class Stale(FakeCaseRepository):
        """Reads what the case was before its last save, however often it is asked."""

        async def get(self, request_id: str) -> tuple[Case, int] | None:
            return copy.deepcopy(loaded)

    stale = Stale()
    stale.cases, stale.revisions = office.repository.cases, office.repository.revisions

    with pytest.raises(Conflict, match="Kasus ini baru saja diubah"):
        await cases.claim(
            request_id="req-0",
            officer=second,
            reason_code="FUNERAL",
            repository=stale,
            now=NOW,
        )
    case = office.repository.cases["req-0"]
    assert case.claim is None
    assert case.state is CaseState.SUBMITTED
    assert first.actor.id != second.actor.id


async def test_a_step_taken_while_processing_notes_a_document_is_judged_again_and_taken(
    office: Office,
) -> None:
    await office.submit("req-0", minutes=0)
    verifier = officer("v-1")
    repository = office.repository

    class NotedMeanwhile(FakeCaseRepository):
        """The first read is overtaken by processing noting a document before the save."""

        def __init__(self) -> None:
            super().__init__()
            self.reads = 0

        async def get(self, request_id: str) -> tuple[Case, int] | None:
            self.reads += 1
            loaded = await repository.get(request_id)
            if self.reads == 1 and loaded is not None:
                noted = copy.deepcopy(loaded[0])
                noted.documents["KK"] = "doc-1"
                await repository.save(noted, revision=loaded[1], outbox=[])
            return loaded

        async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
            return await repository.save(case, revision=revision, outbox=outbox)

    racing = NotedMeanwhile()

    claimed = await cases.claim(
        request_id="req-0",
        officer=verifier,
        reason_code="FUNERAL",
        repository=racing,
        now=NOW,
    )

    assert racing.reads == 2
    stored = repository.cases["req-0"]
    assert stored.claim is not None
    assert stored.claim.officer == verifier.actor.id
    assert stored.documents == {"KK": "doc-1"}
    assert claimed.claim == stored.claim


class NotingDocuments(FakeCaseRepository):
    """Processing notes a document on the case between each read and save, `times` times."""

    def __init__(self, inner: FakeCaseRepository, times: int) -> None:
        super().__init__()
        self.inner, self.times = inner, times

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        loaded = await self.inner.get(request_id)
        if self.times and loaded is not None:
            self.times -= 1
            noted = copy.deepcopy(loaded[0])
            noted.documents[f"DOC_{self.times}"] = f"doc-{self.times}"
            await self.inner.save(noted, revision=loaded[1], outbox=[])
        return loaded

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        return await self.inner.save(case, revision=revision, outbox=outbox)


async def test_claim_next_takes_a_case_whose_first_save_lost_to_a_document_noted(
    office: Office,
) -> None:
    await office.submit("req-0", minutes=0)
    noting = NotingDocuments(office.repository, times=1)

    case = await cases.claim_next(
        officer=officer("v-1"),
        stage=None,
        repository=noting,
        queues=office.queues,
        now=NOW,
    )

    assert case is not None
    assert case.request_id == "req-0"
    assert office.repository.cases["req-0"].claim is not None


async def test_a_case_still_waiting_after_every_lost_save_stays_in_the_queue(
    office: Office,
) -> None:
    await office.submit("req-0", minutes=0)
    noting = NotingDocuments(office.repository, times=cases.STEP_ATTEMPTS)

    missed = await cases.claim_next(
        officer=officer("v-1"),
        stage=None,
        repository=noting,
        queues=office.queues,
        now=NOW,
    )

    assert missed is None
    assert await office.next() == "req-0"


async def test_a_case_of_another_service_point_is_not_found(office: Office) -> None:
    await office.submit("req-0", minutes=0)

    with pytest.raises(CaseNotFound):
        await cases.view(
            request_id="req-0",
            officer=officer("v-1", service_point="MPP_MOJOKERTO"),
            repository=office.repository,
            now=NOW,
        )


async def test_a_withdrawn_request_closes_its_case_once(office: Office) -> None:
    await office.submit("req-0", minutes=0)
    cancelled = RequestCancelled(actor=SYSTEM, request_id="req-0", cancelled_at=NOW)

    for _ in range(2):
        await cases.cancel_case(
            cancelled=cancelled,
            repository=office.repository,
            now=NOW,
        )

    assert office.repository.cases["req-0"].state is CaseState.CANCELLED
    assert [event.type for event in office.repository.outbox].count(
        "id.go.adminduk.case.cancelled.v1"
    ) == 1
    assert await office.next(officer("v-1")) is None


async def test_a_withdrawal_after_verification_began_changes_nothing(office: Office) -> None:
    await office.submit("req-0", minutes=0)
    assert await office.next(officer("v-1")) == "req-0"

    await cases.cancel_case(
        cancelled=RequestCancelled(actor=SYSTEM, request_id="req-0", cancelled_at=NOW),
        repository=office.repository,
        now=NOW,
    )

    assert office.repository.cases["req-0"].state is CaseState.IN_VERIFICATION


async def test_a_resubmitted_case_goes_back_to_verification_with_its_deadline_moved(
    office: Office,
) -> None:
    await office.submit("req-0", minutes=0)
    verifier = officer("v-1")
    assert await office.next(verifier) == "req-0"
    before = office.repository.cases["req-0"].due_at
    await cases.act(
        request_id="req-0",
        officer=verifier,
        step=lambda case: case.request_revision(
            verifier.actor, ["Foto KK"], now=NOW, calendar=FlatCalendar()
        ),
        repository=office.repository,
        now=NOW,
    )
    resubmitted = RequestResubmitted(
        actor=SYSTEM, request_id="req-0", resubmitted_at=NOW + timedelta(hours=5)
    )

    for _ in range(2):
        await cases.resume_case(
            resubmitted=resubmitted,
            repository=office.repository,
            calendar=FlatCalendar(),
            now=NOW + timedelta(hours=5),
        )

    case = office.repository.cases["req-0"]
    assert case.state is CaseState.IN_VERIFICATION
    assert case.due_at == before + timedelta(hours=5)
    assert [event.type for event in office.repository.outbox].count(
        "id.go.adminduk.case.resubmitted.v1"
    ) == 1


class Interleaving(FakeCaseRepository):
    """Lets other tasks run between every read and write, as the engine does; counts the
    saves that lost to another."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    async def get(self, request_id: str) -> tuple[Case, int] | None:
        await asyncio.sleep(0)
        return await super().get(request_id)

    async def save(self, case: Case, *, revision: int, outbox: list[CloudEvent]) -> bool:
        await asyncio.sleep(0)
        saved = await super().save(case, revision=revision, outbox=outbox)
        self.lost += not saved
        return saved


@pytest.mark.parametrize(("turns", "racing"), [(Turns(), False), (None, True)])
async def test_officers_taking_work_at_once_take_turns_and_lose_no_save(
    office: Office, turns: Turns | None, racing: bool
) -> None:
    office.repository = Interleaving()
    for number in range(4):
        await office.submit(f"req-{number}", minutes=number)

    taken = await asyncio.gather(
        *(
            cases.claim_next(
                officer=officer(f"v-{n}"),
                stage=None,
                repository=office.repository,
                queues=office.queues,
                now=NOW,
                turns=turns,
            )
            for n in range(4)
        )
    )

    assert sorted(case.request_id for case in taken if case is not None) == [
        f"req-{n}" for n in range(4)
    ]
    assert (office.repository.lost > 0) is racing
