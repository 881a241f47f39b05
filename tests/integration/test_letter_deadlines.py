"""Disposition timers on the real engine, through the same timers as cases: after an outage that
skipped their due time, two processing instances remind the unread disposition and escalate the
missed deadline exactly once each."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_timers import MongoTimers
from services.processing.letters import service_layer as letters
from services.processing.letters import timers as letter_timers
from services.processing.letters.domain.details import Confidentiality, IncomingLetter
from services.processing.letters.domain.dispositions import DispositionOrder, Official
from services.processing.letters.domain.letter import Letter
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from services.processing.letters.mongo import MongoLetterRepository
from services.processing.letters.service_layer import Staff
from services.processing.service_layer import deadlines
from shared.events.envelope import Actor, ActorKind, Channel
from shared.events.models.letters import DispositionEscalated, DispositionReminded
from shared.mongo import Document, new_mongo_client
from tests.builders import T0, cipher
from tests.fakes import FlatCalendar

CALENDAR = FlatCalendar()
POLICY = LetterPolicy(
    reply_days={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1},
    instructions={"TINDAK_LANJUTI": "Tindak lanjuti"},
)
HEAD = Staff(
    actor=Actor(kind=ActorKind.STAFF, id="kadis", channel=Channel.API),
    unit="KANTOR_DINAS",
    head_of_office=True,
    clerk=False,
)


class Instance:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.cases = MongoCaseRepository(db["cases"], cipher())
        self.letters = MongoLetterRepository(db["letters"], db["agenda_heads"], cipher())
        self.timers = MongoTimers(db["deadline_timers"], db["deadline_cursor"])

    async def fire(self, now_offset: timedelta) -> int:
        return await deadlines.fire_due(
            timers=self.timers,
            repository=self.cases,
            now=T0 + now_offset,
            letters=self.letters,
        )


async def test_an_unread_disposition_is_reminded_and_escalated_once_after_an_outage(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> None:
    other_client = new_mongo_client(stack.mongo_url)
    try:
        first, second = Instance(mongo_db), Instance(other_client[mongo_db.name])
        letter = await letters.register_letter(
            details=IncomingLetter(
                sender="Kecamatan Sooko",
                reference_number="470/21/416.305/2025",
                letter_date=date(2025, 3, 1),
                regarding="Rekap pindah datang",
                classification="470",
                urgency=Urgency.BIASA,
                confidentiality=Confidentiality.BIASA,
            ),
            staff=HEAD,
            repository=first.letters,
            policy=POLICY,
            calendar=CALENDAR,
            now=T0,
        )

        def dispose(found: Letter) -> None:
            found.dispose(
                HEAD.actor,
                DispositionOrder(
                    by=HEAD.official,
                    to=[Official("kabid", "KANTOR_DINAS")],
                    instruction="TINDAK_LANJUTI",
                    note=None,
                    due_at=T0 + timedelta(days=1),
                    parent_id=None,
                ),
                policy=POLICY,
                head_of_office=True,
                now=T0,
            )

        disposed = await letters.act(
            letter_id=letter.letter_id,
            step=dispose,
            repository=first.letters,
            now=T0,
        )
        await letter_timers.set_disposition_timers(
            letter=disposed,
            disposition_id="D1",
            timers=first.timers,
            letters=first.letters,
            calendar=CALENDAR,
            policy=POLICY,
            now=T0,
        )
        assert await first.fire(timedelta(minutes=5)) == 0

        # Both instances were down past the due-soon reminder, the unread one and the deadline.
        fired = await asyncio.gather(
            first.fire(timedelta(days=1, hours=1)), second.fire(timedelta(days=1, hours=1))
        )
        again = await second.fire(timedelta(days=1, hours=2))
    finally:
        await other_client.close()

    assert sum(fired) == 3
    assert again == 0
    document = await mongo_db["letters"].find_one({"_id": letter.letter_id})
    assert document is not None
    events = [
        json.loads(cipher().open(item["payload"], context=f"outbox/{item['id']}"))
        for item in document["outbox"]
    ]
    fired_events = sorted(
        (event["type"], event["data"].get("reason"), event["data"].get("escalated_to"))
        for event in events
        if event["type"] in (DispositionReminded.event_type, DispositionEscalated.event_type)
    )
    assert fired_events == [
        (DispositionEscalated.event_type, None, "kadis"),
        (DispositionReminded.event_type, "due_soon", None),
        (DispositionReminded.event_type, "unread", None),
    ]
