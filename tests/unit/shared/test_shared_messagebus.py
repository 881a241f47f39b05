from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from shared.errors import PoisonEvent
from shared.events.envelope import Event
from shared.events.models.cases import CaseOpened
from shared.events.models.notifications import NotificationSent
from shared.events.models.requests import RequestSubmitted
from shared.events.topics import CASES, REQUESTS
from shared.messagebus import Received, Subscription
from tests.builders import T0, case_opened, request_submitted, wrapped
from tests.fakes import FakeClock

NOW = FakeClock(T0.replace(hour=9))


@dataclass
class Seen:
    events: list[Received[Event]] = field(default_factory=list)


def subscription_of_two() -> Subscription[Seen]:
    subscription: Subscription[Seen] = Subscription("test")

    @subscription.on(RequestSubmitted)
    async def submitted(message: Received[RequestSubmitted], seen: Seen) -> None:
        seen.events.append(message)

    @subscription.on(CaseOpened)
    async def opened(message: Received[CaseOpened], seen: Seen) -> None:
        seen.events.append(message)

    return subscription


async def test_a_handler_gets_the_validated_event_its_id_and_the_clocks_now() -> None:
    seen = Seen()
    dispatch = subscription_of_two().bind(seen, NOW)
    envelope = wrapped(case_opened("req-7"), source="/adminduk/processing")

    await dispatch(envelope)

    [message] = seen.events
    assert message.data == case_opened("req-7")
    assert isinstance(message.data, CaseOpened)
    assert message.event_id == envelope.id
    assert message.source == "/adminduk/processing"
    assert message.time == envelope.time
    assert message.now == NOW()


async def test_types_without_a_handler_are_acknowledged() -> None:
    seen = Seen()
    subscription: Subscription[Seen] = Subscription("test")

    @subscription.on(CaseOpened)
    async def opened(message: Received[CaseOpened], seen: Seen) -> None:
        seen.events.append(message)

    await subscription.bind(seen, NOW)(wrapped(request_submitted()))

    assert seen.events == []


async def test_a_service_that_must_see_every_type_refuses_an_unknown_one() -> None:
    subscription: Subscription[Seen] = Subscription("audit", every_type=True)
    unknown = wrapped(request_submitted()).model_copy(
        update={"type": "id.go.adminduk.request.withdrawn.v1"}
    )

    with pytest.raises(PoisonEvent, match=r"request\.withdrawn"):
        await subscription.bind(Seen(), NOW)(unknown)


async def test_data_that_does_not_fit_its_model_never_reaches_the_handler() -> None:
    seen = Seen()
    envelope = wrapped(request_submitted())
    leaky = envelope.model_copy(update={"data": {**envelope.data, "ktp_nik": "3516091204800001"}})

    with pytest.raises(ValidationError):
        await subscription_of_two().bind(seen, NOW)(leaky)

    assert seen.events == []


def test_the_topics_follow_from_the_handled_events() -> None:
    assert subscription_of_two().topics == [REQUESTS, CASES]
    assert subscription_of_two().events == (RequestSubmitted, CaseOpened)


def test_an_event_class_has_one_handler_per_service() -> None:
    subscription: Subscription[Seen] = Subscription("test")

    @subscription.on(NotificationSent)
    async def first(message: Received[NotificationSent], seen: Seen) -> None:
        return None

    with pytest.raises(TypeError, match="twice"):

        @subscription.on(NotificationSent)
        async def second(message: Received[NotificationSent], seen: Seen) -> None:
            return None
