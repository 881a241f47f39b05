"""The edges intake's use cases talk to; Mongo adapters and test fakes implement them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from services.intake.domain.citizen_request import CitizenRequest, RequestStatus, StatusChange
from services.intake.domain.sign_in import SignInChallenge
from shared.events.envelope import CloudEvent


class RequestRepository(Protocol):
    async def reserve_tracking_number(self, tracking_number: str, request_id: str) -> bool:
        """Ties a tracking number to a request id; False if the number is taken."""
        ...

    async def find_by_tracking_number(self, tracking_number: str) -> CitizenRequest | None:
        """The request a tracking number was given to."""
        ...

    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        """Stores the request with its outgoing events in one write; False if the id exists."""
        ...

    async def get(self, request_id: str) -> CitizenRequest | None:
        """Loads a request by its id."""
        ...

    async def add_events(
        self, request_id: str, outbox: list[CloudEvent], *, status: RequestStatus
    ) -> bool:
        """Queues the request's events, if its status is still `status`; False otherwise."""
        ...

    async def record_progress(self, request_id: str, event_id: str, change: StatusChange) -> bool:
        """Sets the new status and adds it to the history, once per event; False if the event
        was recorded before or the request is unknown."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        """Ties the key to `request_id` unless it is tied already; returns the id it is tied to.

        Of concurrent claims of one key, exactly one ties it; all return the same id.
        """
        ...


class SignInRepository(Protocol):
    def document_id(self, phone: str) -> str:
        """Where the phone's challenge is stored: never the number itself."""
        ...

    async def current(self, phone: str) -> tuple[SignInChallenge | None, int]:
        """The phone's challenge and the version to expect when replacing it (-1: none yet)."""
        ...

    async def replace(
        self,
        phone: str,
        challenge: SignInChallenge,
        *,
        version: int,
        outbox: Sequence[CloudEvent] = (),
    ) -> bool:
        """Stores `challenge` if the stored one is still at `version`; False if it changed."""
        ...


class CitizenTokens(Protocol):
    def issue(self, *, phone: str, now: datetime) -> tuple[str, int]:
        """A signed token for the citizen with this number, and its lifetime in seconds."""
        ...
