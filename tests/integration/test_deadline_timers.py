"""Deadline timers on the real engine: after an outage, two processing instances fire each
missed warning and breach exactly once; a timer set for a minute already fired fires at once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from devstack.stack import Stack
from services.processing.adapters.mongo_cases import MongoCaseRepository
from services.processing.adapters.mongo_timers import CHUNK, MongoTimers
from services.processing.domain.deadlines import Timer, minute_of
from services.processing.domain.deadlines import timers as timers_of
from services.processing.letters.mongo import MongoLetterRepository
from services.processing.service_layer import cases, deadlines
from shared.events.models.cases import DeadlineBreached, DeadlineWarning
from shared.mongo import Document, new_mongo_client
from tests.builders import T0, cipher, request_submitted
from tests.fakes import CallCounter, FlatCalendar

CALENDAR = FlatCalendar()


def instance(db: AsyncDatabase[Document]) -> tuple[MongoCaseRepository, MongoTimers]:
    return (
        MongoCaseRepository(db["cases"], cipher()),
        MongoTimers(db["deadline_timers"], db["deadline_cursor"]),
    )


def letters(db: AsyncDatabase[Document]) -> MongoLetterRepository:
    return MongoLetterRepository(db["letters"], db["agenda_heads"], cipher())


async def test_missed_timers_fire_once_from_two_instances_after_an_outage(
    stack: Stack, mongo_db: AsyncDatabase[Document]
) -> None:
    other_client = new_mongo_client(stack.mongo_url)
    try:
        other_db = other_client[mongo_db.name]
        first = instance(mongo_db)
        second = instance(other_db)
        repository, timers = first
        for number in range(3):
            await cases.open_case_for_request(
                submitted=request_submitted(f"req-{number}"),
                event_id=f"evt-{number}",
                repository=repository,
                calendar=CALENDAR,
                default_service_point="KANTOR_DINAS",
                now=T0,
            )
            loaded = await repository.get(f"req-{number}")
            assert loaded is not None
            case = loaded[0]
            await deadlines.set_deadline_timers(
                request_id=case.request_id,
                start=case.opened_at,
                due_at=case.due_at,
                repository=repository,
                timers=timers,
                calendar=CALENDAR,
                now=T0,
            )
        await deadlines.fire_due(
            timers=timers, repository=repository, letters=letters(mongo_db), now=T0
        )

        back = T0 + timedelta(days=1, hours=1)
        fired = await asyncio.gather(
            *(
                deadlines.fire_due(
                    timers=each_timers,
                    repository=each_repository,
                    letters=letters(each_db),
                    now=back,
                )
                for (each_repository, each_timers), each_db in (
                    (first, mongo_db),
                    (second, other_db),
                )
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


async def test_a_minute_closed_by_the_sweeper_takes_no_more_timers(
    mongo_db: AsyncDatabase[Document],
) -> None:
    _, timers = instance(mongo_db)
    minute = T0 + timedelta(hours=12)
    [half, *_] = deadlines_of("req-1")

    kept_before = await timers.schedule(half)
    closed = await timers.close(minute)
    kept_after = await timers.schedule(half)
    closed_again = await timers.close(minute)

    assert (kept_before, kept_after) == (True, False)
    assert closed == closed_again == [half]
    assert await timers.close(minute + timedelta(minutes=1)) == []


async def test_a_timer_whose_minute_was_fired_while_it_was_set_fires_at_once(
    mongo_db: AsyncDatabase[Document],
) -> None:
    repository, timers = instance(mongo_db)
    outbox_ready = CallCounter()
    repository.outgoing.register(outbox_ready)
    await cases.open_case_for_request(
        submitted=request_submitted("req-1"),
        event_id="evt-1",
        repository=repository,
        calendar=CALENDAR,
        default_service_point="KANTOR_DINAS",
        now=T0,
    )
    [half, *_] = deadlines_of("req-1")
    await timers.close(half.fire_at)

    await deadlines.set_deadline_timers(
        request_id="req-1",
        start=T0,
        due_at=half.due_at,
        repository=repository,
        timers=timers,
        calendar=CALENDAR,
        now=half.fire_at - timedelta(seconds=10),
    )

    warnings = [event for event in outbox_ready.events if event.type == DeadlineWarning.event_type]
    assert [event.data["percent"] for event in warnings] == [50]


def deadlines_of(request_id: str) -> list[Timer]:
    """The timers of a case opened at T0, due a day later."""
    return timers_of(request_id, T0, T0 + timedelta(days=1), CALENDAR)


async def test_timers_kept_in_shards_by_an_earlier_layout_still_fire(
    mongo_db: AsyncDatabase[Document],
) -> None:
    _, timers = instance(mongo_db)
    [half, later, breach] = deadlines_of("req-1")
    await mongo_db["deadline_cursor"].insert_one(
        {"_id": "cursor", "minute": minute_of(later.fire_at) - timedelta(minutes=1), "version": 0}
    )
    await mongo_db["deadline_timers"].insert_many(
        [
            {
                "_id": f"{minute_of(timer.fire_at):%Y-%m-%dT%H:%M}|{shard}",
                "version": 0,
                "entries": [entry(timer)],
            }
            for shard, timer in enumerate((half, later, breach))
        ]
    )

    moved = await timers.adopt_shards()
    again = await timers.adopt_shards()

    assert (moved, again) == (2, 0)
    assert await timers.close(minute_of(later.fire_at)) == [later]
    assert await timers.close(minute_of(breach.fire_at)) == [breach]
    assert await mongo_db["deadline_timers"].count_documents({"_id": {"$regex": "[|]"}}) == 0


def entry(timer: Timer) -> dict[str, object]:
    return {
        "request_id": timer.request_id,
        "mark": timer.mark.value,
        "due_at": timer.due_at,
        "fire_at": timer.fire_at,
        "disposition_id": timer.disposition_id,
    }


async def test_a_busy_minute_spreads_over_documents_of_bounded_size(
    mongo_db: AsyncDatabase[Document],
) -> None:
    _, timers = instance(mongo_db)
    busy = [deadlines_of(f"req-{n}")[0] for n in range(2 * CHUNK + 3)]

    for start in range(0, len(busy), 5):
        await asyncio.gather(*(timers.schedule(timer) for timer in busy[start : start + 5]))
    fired = await timers.close(busy[0].fire_at)

    assert sorted(timer.request_id for timer in fired) == sorted(t.request_id for t in busy)
    sizes = [len(doc.get("entries", [])) async for doc in mongo_db["deadline_timers"].find({})]
    assert max(sizes) < CHUNK + 5
    assert await timers.schedule(busy[0]) is False
