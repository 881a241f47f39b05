"""Who hears about a request: learnt from its RequestSubmitted, kept by request id, with the steps
that overtook it parked until then. The contract holds for the fake and for MongoDB."""

from __future__ import annotations

import pytest

from services.notify.domain.recipients import ParkedStep, Recipients
from services.notify.service_layer.ports import RecipientDirectory
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.cases import CollectionMethod, DocumentIssued, RevisionRequested
from shared.events.models.values import NotificationChannel
from tests.builders import CITIZEN, MOBILE, T0, request_submitted
from tests.fakes import FakeRecipientDirectory

COUNTER = Actor(
    kind=ActorKind.STAFF,
    id="counter-1",
    role="counter_officer",
    service_point="KANTOR_DINAS",
    channel=Channel.API,
)
VERIFIER = Actor(kind=ActorKind.STAFF, id="verifier-1", role="verifier", channel=Channel.API)
CITIZENS_OWN = Recipients.learnt_from(request_submitted("req-1"))
WITHOUT_PHONE = Recipients(
    request_id="req-1",
    tracking_number="K7M2Q9XP",
    service_code="AKTA_MATI",
    name="Sumarni",
    phone=None,
    channel=NotificationChannel.SMS,
    submitted_by=COUNTER,
    assisted_contact="+6281377770002",
)


def sent_back(event_id: str) -> ParkedStep:
    step = RevisionRequested(
        actor=VERIFIER,
        request_id="req-1",
        state="NEEDS_REVISION",
        at=T0,
        items=["Foto KK buram"],
        documents=["KK"],
    )
    return ParkedStep(event_id=event_id, step=step)


def issued(event_id: str) -> ParkedStep:
    step = DocumentIssued(
        actor=VERIFIER,
        request_id="req-1",
        state="ISSUED",
        at=T0,
        document_number="3516-KK-2025-0042",
        collection=CollectionMethod.VILLAGE,
    )
    return ParkedStep(event_id=event_id, step=step)


def test_recipients_are_learnt_from_the_submission() -> None:
    assert (
        Recipients(
            request_id="req-1",
            tracking_number="K7M2Q9XP",
            service_code="KK_BARU",
            name="Siti Aminah",
            phone=MOBILE,
            channel=NotificationChannel.WHATSAPP,
            submitted_by=CITIZEN,
            assisted_contact=None,
        )
        == CITIZENS_OWN
    )


class RecipientDirectoryContract:
    async def test_a_request_not_learnt_is_unknown(self, directory: RecipientDirectory) -> None:
        assert await directory.get("req-1") is None

    @pytest.mark.parametrize("recipients", [CITIZENS_OWN, WITHOUT_PHONE], ids=["own", "assisted"])
    async def test_learnt_recipients_round_trip_every_field(
        self, directory: RecipientDirectory, recipients: Recipients
    ) -> None:
        assert await directory.learn(recipients) == []

        assert await directory.get("req-1") == recipients

    async def test_learning_again_changes_nothing(self, directory: RecipientDirectory) -> None:
        await directory.learn(CITIZENS_OWN)

        assert await directory.learn(CITIZENS_OWN) == []
        assert await directory.get("req-1") == CITIZENS_OWN

    async def test_steps_parked_before_the_request_come_back_in_order_when_it_is_learnt(
        self, directory: RecipientDirectory
    ) -> None:
        assert await directory.park("req-1", sent_back("evt-2")) is True
        assert await directory.park("req-1", issued("evt-3")) is True
        assert await directory.get("req-1") is None

        parked = await directory.learn(CITIZENS_OWN)

        assert parked == [sent_back("evt-2"), issued("evt-3")]
        assert await directory.get("req-1") == CITIZENS_OWN

    async def test_parked_steps_once_forgotten_are_not_returned_again(
        self, directory: RecipientDirectory
    ) -> None:
        await directory.park("req-1", sent_back("evt-2"))
        await directory.learn(CITIZENS_OWN)

        await directory.forget_parked("req-1")

        assert await directory.learn(CITIZENS_OWN) == []
        assert await directory.get("req-1") == CITIZENS_OWN

    async def test_a_learnt_request_refuses_parking(self, directory: RecipientDirectory) -> None:
        await directory.learn(CITIZENS_OWN)

        assert await directory.park("req-1", sent_back("evt-2")) is False

        assert await directory.learn(CITIZENS_OWN) == []

    async def test_requests_are_kept_apart(self, directory: RecipientDirectory) -> None:
        await directory.park("req-1", sent_back("evt-2"))
        other = Recipients.learnt_from(request_submitted("req-2", tracking_number="M3N4P5Q6"))

        assert await directory.learn(other) == []
        assert await directory.get("req-1") is None
        assert await directory.get("req-2") == other


class TestFakeRecipientDirectory(RecipientDirectoryContract):
    @pytest.fixture
    def directory(self) -> FakeRecipientDirectory:
        return FakeRecipientDirectory()
