"""Notify's stores on the real FerretDB: who hears about each request, and the night's messages
held until six in the morning and then sent in the order they were made."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.adapters.mongo_delivery_status import MongoDeliveryStatusStore
from services.notify.adapters.mongo_notifications import MongoNotificationRepository
from services.notify.adapters.mongo_recipients import MongoRecipientDirectory
from services.notify.adapters.templates_file import load_templates
from services.notify.domain.notification import (
    ApprovedTemplate,
    Leg,
    Notification,
    NotificationStatus,
)
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import ChannelLimit
from services.notify.domain.recipients import OperatorNotice, Recipients
from services.notify.service_layer import messages
from services.notify.service_layer.delivery import Delivery
from services.notify.service_layer.outgoing import MessageContext
from services.notify.service_layer.statuses import StatusContext
from shared.calendar import JAKARTA
from shared.events.models.identity import SignInCodeRequested
from shared.events.models.notifications import ChannelTried
from shared.events.models.values import DeliveryChannel, NotificationChannel
from shared.mongo import Document
from tests.builders import CITIZEN, cipher, notification, request_submitted
from tests.fakes import FakeClock, FakeMessageProvider
from tests.unit.notify.test_notify_recipients import (
    CITIZENS_OWN,
    WITHOUT_PHONE,
    RecipientDirectoryContract,
    sent_back,
)

ONE_AT_A_TIME = ChannelLimit(rate_per_s=1000.0, burst=1000.0, concurrency=1)
"""Keeps the order messages were started in, which concurrent calls need not."""


def wib(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=JAKARTA).astimezone(UTC)


@pytest.fixture
def directory(mongo_db: AsyncDatabase[Document]) -> MongoRecipientDirectory:
    return MongoRecipientDirectory(mongo_db["recipients"], cipher())


class TestMongoRecipientDirectory(RecipientDirectoryContract):
    pass


async def test_a_message_owed_to_an_operator_is_recorded_once(
    directory: MongoRecipientDirectory, mongo_db: AsyncDatabase[Document]
) -> None:
    await directory.learn(WITHOUT_PHONE)

    for _ in range(2):
        await directory.owe_operator("req-1", OperatorNotice("evt-2", "case_approved"))
    await directory.owe_operator("req-1", OperatorNotice("evt-3", "document_issued"))

    stored = await mongo_db["recipients"].find_one({"_id": "req-1"})
    assert stored is not None
    assert stored["operator_notices"] == [
        {"event_id": "evt-2", "template": "case_approved"},
        {"event_id": "evt-3", "template": "document_issued"},
    ]
    assert stored["submitted_by"]["id"] == "counter-1"


async def test_names_phones_and_officers_notes_are_stored_sealed(
    directory: MongoRecipientDirectory, mongo_db: AsyncDatabase[Document]
) -> None:
    await directory.park("req-1", sent_back("evt-2"))
    parked = repr(await mongo_db["recipients"].find_one({"_id": "req-1"}))
    await directory.learn(CITIZENS_OWN)
    learnt = repr(await mongo_db["recipients"].find_one({"_id": "req-1"}))
    await directory.learn(dataclasses.replace(WITHOUT_PHONE, request_id="req-2"))
    assisted = repr(await mongo_db["recipients"].find_one({"_id": "req-2"}))

    for stored in (parked, learnt, assisted):
        for value in ("Siti Aminah", "Sumarni", "81234567890", "81377770002", "Foto KK buram"):
            assert value not in stored
    assert "K7M2Q9XP" in learnt


async def test_a_step_parked_while_its_request_is_learnt_is_either_returned_or_refused(
    directory: MongoRecipientDirectory,
) -> None:
    for n in range(12):
        recipients = Recipients.learnt_from(request_submitted(f"req-{n}"))
        step = sent_back(f"evt-{n}")
        parked, returned = await asyncio.gather(
            directory.park(recipients.request_id, step), directory.learn(recipients)
        )
        assert parked == (step in returned), n


async def test_messages_due_at_one_moment_come_oldest_first_with_their_template(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoNotificationRepository(mongo_db["notifications"], cipher())
    await repository.ensure_indexes()
    morning = wib(4, 6)
    approved = ApprovedTemplate("adminduk_permohonan_disetujui", "id", ("Siti Aminah", "KK"))
    for name, minute in [("second", 2), ("third", 3), ("first", 1)]:
        held = notification(name, next_attempt_at=morning, created_at=wib(3, 22, minute))
        held.approved_template = approved
        await repository.add(held)

    due = await repository.due(morning, limit=10)

    assert [item.notification_id for item in due] == ["first", "second", "third"]
    assert due[0].approved_template == approved
    stored = repr(await mongo_db["notifications"].find_one({"_id": "first"}))
    assert "Siti Aminah" not in stored


async def test_the_nights_messages_go_out_at_six_in_the_order_they_were_made(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoNotificationRepository(mongo_db["notifications"], cipher())
    await repository.ensure_indexes()
    clock = FakeClock(wib(3, 21, 30))
    quiet_hours = QuietHours()
    provider = FakeMessageProvider()
    delivery = Delivery(
        repository=repository,
        provider=provider,
        max_attempts=3,
        clock=clock,
        quiet_hours=quiet_hours,
        limits={channel: ONE_AT_A_TIME for channel in DeliveryChannel},
    )
    context = MessageContext(
        repository=repository,
        recipients=MongoRecipientDirectory(mongo_db["recipients"], cipher()),
        templates=load_templates(),
        delivery_ready=delivery.hold,
        claim_first_attempt=delivery.claim_first_attempt,
        quiet_hours=quiet_hours,
        survey_url="https://survei.adminduk.example",
        statuses=StatusContext(
            store=MongoDeliveryStatusStore(
                mongo_db["delivery_statuses"], mongo_db["delivery_status_keys"], cipher()
            ),
            notifications=repository,
            clock=clock,
        ),
    )
    for n in range(3):
        await messages.queue_receipt(
            submitted=request_submitted(f"req-{n}"),
            event_id=f"evt-{n}",
            context=context,
            now=clock(),
        )
        clock.advance(timedelta(minutes=20))
    code = SignInCodeRequested(
        actor=CITIZEN,
        challenge_id="ch-1",
        phone="+6285700000777",
        channel=NotificationChannel.SMS,
        code="482913",
        expires_at=clock() + timedelta(minutes=5),
    )
    await messages.queue_sign_in_code(
        requested=code, event_id="evt-code", context=context, now=clock()
    )

    await delivery.deliver(["evt-0:citizen", "evt-1:citizen", "evt-2:citizen", "evt-code:citizen"])
    await delivery.drain()
    assert [sent.notification_id for sent in provider.sent] == ["evt-code:citizen"]
    clock.current = wib(4, 5, 59, 59)
    assert await delivery.deliver_due() == 0

    clock.current = wib(4, 6)
    assert await delivery.deliver_due() == 3
    await delivery.drain()

    assert [sent.notification_id for sent in provider.sent] == [
        "evt-code:citizen",
        "evt-0:citizen",
        "evt-1:citizen",
        "evt-2:citizen",
    ]
    assert all(sent.template == "request_received" for sent in provider.sent[1:])
    assert await delivery.deliver_due() == 0


SMS_LEG = Leg(
    channel=DeliveryChannel.SMS,
    recipient="+6281234567890",
    text="Yth. Siti Aminah, permohonan Anda diterima.",
)


async def test_a_route_and_its_channels_tried_round_trip_with_addresses_sealed(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoNotificationRepository(mongo_db["notifications"], cipher())
    staff = dataclasses.replace(
        notification("n-1"),
        channel=DeliveryChannel.EMAIL,
        recipient="siti.aminah@dukcapil.example.go.id",
        subject="Permohonan Siti Aminah menunggu verifikasi",
        fallbacks=(SMS_LEG,),
        tried=(ChannelTried(channel=DeliveryChannel.WHATSAPP, attempts=2, reason="503"),),
    )
    await repository.add(staff)

    assert await repository.get("n-1") == staff
    stored = repr(await mongo_db["notifications"].find_one({"_id": "n-1"}))
    for personal in ("Siti Aminah", "siti.aminah", "81234567890"):
        assert personal not in stored
    assert "503" in stored


async def test_attempts_whose_lease_or_window_ended_come_due_again(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository = MongoNotificationRepository(mongo_db["notifications"], cipher())
    now = wib(4, 10)
    for name, status in [
        ("in-flight", NotificationStatus.SENDING),
        ("in-doubt", NotificationStatus.UNCERTAIN),
        ("sent", NotificationStatus.SENT),
        ("failed", NotificationStatus.FAILED),
    ]:
        await repository.add(notification(name, status=status, next_attempt_at=now))
    await repository.add(
        notification("leased", status=NotificationStatus.SENDING, next_attempt_at=now + SECOND)
    )

    due = await repository.due(now, limit=10, skip={"in-doubt"})

    assert [item.notification_id for item in due] == ["in-flight"]


SECOND = timedelta(seconds=1)


class RecordingProvider:
    def __init__(self) -> None:
        self.keys: list[str] = []

    async def send(self, message: Notification) -> str:
        self.keys.append(message.idempotency_key)
        await asyncio.sleep(0.01)
        return f"wamid.{len(self.keys)}"


async def test_of_two_instances_racing_for_one_message_exactly_one_sends_it(
    mongo_db: AsyncDatabase[Document],
) -> None:
    provider = RecordingProvider()
    clock = FakeClock(wib(4, 10))
    instances = [
        Delivery(
            repository=MongoNotificationRepository(mongo_db["notifications"], cipher()),
            provider=provider,
            max_attempts=3,
            clock=clock,
        )
        for _ in range(2)
    ]
    names = [f"n-{n}" for n in range(10)]
    for name in names:
        await instances[0].repository.add(notification(name, next_attempt_at=clock()))

    for instance in instances:
        for pending in await instance.repository.due(clock(), limit=20):
            instance.hold(pending)

    started = await asyncio.gather(*(instance.deliver(names) for instance in instances))
    await asyncio.gather(*(instance.drain() for instance in instances))

    assert started == [10, 10]
    assert sorted(provider.keys) == sorted(f"{name}:WHATSAPP" for name in names)
    for name in names:
        stored = await mongo_db["notifications"].find_one({"_id": name})
        assert stored is not None
        assert stored["status"] == NotificationStatus.SENT.value
        assert len(stored["outbox"]) == 1
