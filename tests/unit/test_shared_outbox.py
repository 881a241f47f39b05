"""Committing an aggregate's events: wrapped once, stored with the change, handed to the relay
only when stored."""

from __future__ import annotations

from shared.events.envelope import CloudEvent
from shared.outbox import Outbox
from tests.builders import T0, request_submitted
from tests.fakes import CallCounter


class Saves:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.outboxes: list[list[CloudEvent]] = []

    async def __call__(self, *, outbox: list[CloudEvent]) -> bool | None:
        self.outboxes.append(outbox)
        return self.answer


def outbox_with_relay() -> tuple[Outbox, CallCounter]:
    outbox, relay = Outbox(), CallCounter()
    outbox.register(relay)
    return outbox, relay


async def test_stored_events_are_wrapped_once_and_handed_to_the_relay() -> None:
    outbox, relay = outbox_with_relay()
    save = Saves(True)

    stored = await outbox.commit(
        "req-1", [request_submitted("req-1")], save, source="/adminduk/intake", time=T0
    )

    assert stored
    [written] = save.outboxes
    assert [(event.source, event.time, event.subject) for event in written] == [
        ("/adminduk/intake", T0, "req-1")
    ]
    assert relay.keys == ["req-1"]
    assert relay.events == written


async def test_a_write_that_always_stores_wakes_the_relay_too() -> None:
    outbox, relay = outbox_with_relay()

    assert await outbox.commit("req-1", [request_submitted()], Saves(None), source="/s", time=T0)
    assert relay.keys == ["req-1"]


async def test_nothing_stored_tells_the_relay_nothing() -> None:
    outbox, relay = outbox_with_relay()

    assert not await outbox.commit(
        "req-1", [request_submitted()], Saves(False), source="/s", time=T0
    )
    assert relay.calls == 0


async def test_a_change_without_events_wakes_no_relay() -> None:
    outbox, relay = outbox_with_relay()
    save = Saves(True)

    assert await outbox.commit("req-1", [], save, source="/s", time=T0)
    assert save.outboxes == [[]]
    assert relay.calls == 0
