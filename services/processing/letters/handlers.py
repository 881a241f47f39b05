"""Processing's own letter events, as its consumer handles them: they keep the letters' index
(inboxes, open letters) and set each disposition's timers, from the event and the letter as
stored. The consumer (`entrypoints/consumer.py`) adds them to its subscription with `register`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from services.processing.domain.case import Calendar
from services.processing.letters.domain.policy import LetterPolicy
from services.processing.letters.ports import LetterIndex, LetterRepository
from services.processing.letters.timers import set_disposition_timers
from services.processing.service_layer.ports import DeadlineTimers
from shared.events.models.letters import LetterDisposed, LetterRegistered
from shared.messagebus import Received, Subscription


@dataclass(frozen=True)
class LetterDependencies:
    repository: LetterRepository
    index: LetterIndex
    policy: LetterPolicy


class LetterConsumer(Protocol):
    """What the letter handlers take of the consumer's dependencies."""

    @property
    def letters(self) -> LetterDependencies: ...

    @property
    def timers(self) -> DeadlineTimers: ...

    @property
    def calendar(self) -> Calendar: ...


Dependencies = TypeVar("Dependencies", bound=LetterConsumer)


def register(subscription: Subscription[Dependencies]) -> None:
    """Adds the letter events' handlers to the service's subscription."""
    subscription.on(LetterRegistered)(on_letter_registered)
    subscription.on(LetterDisposed)(on_letter_disposed)


async def on_letter_registered(message: Received[LetterRegistered], deps: LetterConsumer) -> None:
    """Lists the letter among its office's open ones, for the head of office's overdue view."""
    event = message.data
    await deps.letters.index.note_open(event.service_point, event.letter_id)


async def on_letter_disposed(message: Received[LetterDisposed], deps: LetterConsumer) -> None:
    """Puts the letter in its new holder's inbox and sets the disposition's timers."""
    event, letters = message.data, deps.letters
    await letters.index.note_holder(event.to_official, event.letter_id)
    loaded = await letters.repository.get(event.letter_id)
    if loaded is None:
        return
    await set_disposition_timers(
        letter=loaded[0],
        disposition_id=event.disposition_id,
        timers=deps.timers,
        letters=letters.repository,
        calendar=deps.calendar,
        policy=letters.policy,
        now=message.now,
    )
