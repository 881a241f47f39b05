from __future__ import annotations

from shared.events.envelope import CloudEvent
from shared.messagebus import EventDispatcher
from tests.builders import case_opened, request_submitted, wrapped


async def test_the_dispatcher_calls_the_handler_of_the_event_type_only() -> None:
    handled: list[tuple[str, str]] = []

    async def on_submitted(event: CloudEvent) -> None:
        handled.append(("submitted", event.id))

    async def on_opened(event: CloudEvent) -> None:
        handled.append(("opened", event.id))

    dispatch = EventDispatcher(
        {
            "id.go.adminduk.request.submitted.v1": on_submitted,
            "id.go.adminduk.case.opened.v1": on_opened,
        }
    )
    opened = wrapped(case_opened())

    await dispatch(opened)

    assert handled == [("opened", opened.id)]


async def test_the_dispatcher_acknowledges_types_it_has_no_handler_for() -> None:
    handled: list[CloudEvent] = []

    async def on_opened(event: CloudEvent) -> None:
        handled.append(event)

    dispatch = EventDispatcher({"id.go.adminduk.case.opened.v1": on_opened})

    await dispatch(wrapped(request_submitted()))

    assert handled == []
