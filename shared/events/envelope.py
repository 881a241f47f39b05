"""CloudEvents 1.0 structured-mode JSON: the one envelope every Kafka message uses."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from shared.events.topics import Topic

_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """The `data` of an event: immutable, past tense, one class per type and version.

    Every event is about one citizen's request, whose id keys it on Kafka so that one request's
    events stay in order. A class that sets `event_type` and `topic` is registered by that alone:
    nothing else needs listing it for it to be published, consumed, audited and documented.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]

    request_id: str = Field(description="Intake's id of the request; the key of all its events.")

    @property
    def subject(self) -> str:
        return self.request_id

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            return
        if not isinstance(cls.__dict__.get("topic"), Topic):
            raise TypeError(f"{cls.__name__} sets event_type but names no topic")
        if cls.event_type in _REGISTRY:
            raise TypeError(f"event type {cls.event_type} is declared twice")
        _REGISTRY[cls.event_type] = cls


def registered_events() -> Mapping[str, type[Event]]:
    """Every event class by type name, in declaration order; read-only."""
    return MappingProxyType(_REGISTRY)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode."""

    # Extension attributes a newer producer adds must not stop older consumers (tolerant reader).
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Unique per source; consumers deduplicate by it.")
    source: str = Field(min_length=1, description="The service that produced the event.")
    type: str = Field(min_length=1, description="Reverse-DNS type name ending in its version.")
    time: datetime = Field(description="When the fact happened, in UTC.")
    subject: str = Field(min_length=1, description="The request id the event is about.")
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]

    @classmethod
    def wrap(cls, event: Event, *, source: str, time: datetime | None = None) -> Self:
        """Puts `event` in a new envelope with a fresh id."""
        return cls(
            id=str(uuid.uuid4()),
            source=source,
            type=event.event_type,
            time=time or datetime.now(UTC),
            subject=event.subject,
            data=event.model_dump(mode="json"),
        )

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes | None) -> Self:
        return cls.model_validate_json(raw or b"")
