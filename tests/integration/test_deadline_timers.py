"""Deadline timers on the real engine: after an outage, two processing instances fire each
missed warning and breach exactly once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_timers import MongoTimers
from services.processing.service_layer import cases, deadlines
from shared.events.models import DeadlineBreached, DeadlineWarning
from shared.mongo import Document, new_mongo_client
from tests.builders import T0, cipher, request_submitted
from tests.fakes import CallCounter, FlatCalendar

CALENDAR = FlatCalendar()


def instance(db: AsyncDatabase[Document]) -> tuple[MongoCaseRepository, MongoTimers]:
    return (
        MongoCaseRepository(db["cases"], cipher()),
        MongoTimers(db["deadline_timers"], db["deadline_cursor"]),
    )


async def test_missed_timers_fire_once_from_two_instances_after_an_outage(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> None:
    other_client = new_mongo_client(stack.mongo_url)
    try:
        first = instance(mongo_db)
        second = instance(other_client[mongo_db.name])
        repository, timers = first
        for number in range(3):
            await cases.open_case_for_request(
                submitted=request_submitted(f"req-{number}"),
                event_id=f"evt-{number}",
                repository=repository,
                outbox_ready=CallCounter(),
                calendar=CALENDAR,
                default_service_point="KANTOR_DINAS",
                now=T0,
            )
            loaded = await repository.get(f"req-{number}")
            assert loaded is not None
            await deadlines.set_deadline_timers(
                case=loaded[0],
                repository=repository,
                timers=timers,
                calendar=CALENDAR,
                outbox_ready=CallCounter(),
                now=T0,
            )
        await deadlines.fire_due(
            timers=timers, repository=repository, outbox_ready=CallCounter(), now=T0
        )

        back = T0 + timedelta(days=1, hours=1)
        fired = await asyncio.gather(
            *(
                deadlines.fire_due(
                    timers=each_timers,
                    repository=each_repository,
                    outbox_ready=CallCounter(),
                    now=back,
                )
                for each_repository, each_timers in (first, second)
            )
        )
    finally:
        await other_client.close()

    assert sum(fired) == 9
    for number in range(3):
        document = await mongo_db["cases"].find_one({"_id": f"req-{number}"})
        assert document is not None
        events = [
            json.loads(cipher().open(item["payload"], context=f"outbox/{item['id']}"))
            for item in document["outbox"]
        ]
        marks = sorted(
            (event["type"], event["data"].get("percent"))
            for event in events
            if event["type"] in (DeadlineWarning.event_type, DeadlineBreached.event_type)
        )
        assert marks == [
            (DeadlineBreached.event_type, None),
            (DeadlineWarning.event_type, 50),
            (DeadlineWarning.event_type, 80),
        ]
