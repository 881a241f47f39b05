"""The edges intake's use cases talk to; Mongo adapters and test fakes implement them."""

from __future__ import annotations

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
