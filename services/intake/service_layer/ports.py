"""The edges intake's use cases talk to; Mongo adapters and test fakes implement them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from services.intake.domain.citizen_request import CitizenRequest
from shared.events.envelope import CloudEvent


class RequestRepository(Protocol):
    async def add(self, request: CitizenRequest, outbox: list[CloudEvent]) -> bool:
        """Stores the request with its outgoing events in one write; False if the id exists."""
        ...

    async def get(self, request_id: str) -> CitizenRequest | None:
        """Loads a request by its id."""
        ...


class IdempotencyKeyRepository(Protocol):
    async def claim(self, *, key_hash: str, request_id: str, now: datetime) -> str:
        """Ties the key to `request_id` unless it is tied already; returns the id it is tied to.

        Of concurrent claims of one key, exactly one ties it; all return the same id.
        """
        ...
