"""CloudEvents 1.0, the one envelope of every Kafka message, and its Kafka protocol binding.

The services write structured mode (the JSON event as the value, `content-type:
application/cloudevents+json`) and read both modes, so a producer outside the project may send
binary mode (attributes in `ce_*` headers, the data as the value).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.events.topics import Topic
from shared.redaction import describe_validation_error

STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
CONTENT_TYPE_HEADER: Final = "content-type"
ATTRIBUTE_HEADER_PREFIX: Final = "ce_"
KafkaHeaders = Sequence[tuple[str, bytes | None]]

_REGISTRY: dict[str, type[Event]] = {}


class ActorKind(StrEnum):
    CITIZEN = "citizen"
    STAFF = "staff"
    OPERATOR = "operator"
    SYSTEM = "system"
    PROVIDER = "provider"


class Channel(StrEnum):
    """Where an action came from."""

    API = "api"
    WHATSAPP = "whatsapp"
    SMS = "sms"
    SYSTEM = "system"


class Actor(BaseModel):
    """Who caused an event, so that audit can attribute every action; never personal data.

    A citizen's id is an opaque pseudonym of their phone number; staff and operators are known by
    their identity provider's subject id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActorKind = Field(description="A citizen, staff, a village operator, the system itself.")
    id: str = Field(min_length=1, description="Stable id of who acted (token subject).")
    role: str | None = Field(default=None, description="The role the actor acted in.")
    village: str | None = Field(default=None, description="A village operator's village code.")
    service_point: str | None = Field(default=None, description="An officer's service point.")
    channel: Channel = Field(description="Where the action came from.")

    @classmethod
    def system(cls, service: str) -> Actor:
        """The backend itself: timers, retries, reactions to other events."""
        return cls(kind=ActorKind.SYSTEM, id=service, channel=Channel.SYSTEM)


class Event(BaseModel):
    """The `data` of an event: immutable, past tense, one class per type and version.

    Its `subject` keys it on Kafka, so that one subject's events stay in order. A class that sets
    `event_type` (and `topic`, itself or through a base class of its topic's events) is
    registered by that alone: nothing else needs listing it for it to
    be published, consumed, audited and documented.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    topic: ClassVar[Topic]

    actor: Actor = Field(description="Who caused the event.")

    @property
    def subject(self) -> str:
        raise NotImplementedError

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            return
        if not isinstance(getattr(cls, "topic", None), Topic):
            raise TypeError(f"{cls.__name__} sets event_type but names no topic")
        if cls.event_type in _REGISTRY:
            raise TypeError(f"event type {cls.event_type} is declared twice")
        _REGISTRY[cls.event_type] = cls


class RequestEvent(Event):
    """An event about one citizen's request, whose id keys it."""

    request_id: str = Field(description="Intake's id of the request; the key of all its events.")

    @property
    def subject(self) -> str:
        return self.request_id


def registered_events() -> Mapping[str, type[Event]]:
    """Every event class by type name, in declaration order; read-only."""
    return MappingProxyType(_REGISTRY)


class NotACloudEvent(ValueError):
    """A Kafka message that is a CloudEvent in neither content mode. The message names headers
    and attributes, never their values."""


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event with JSON data."""

    # Extension attributes a newer producer adds must not stop older consumers (tolerant reader).
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, description="Unique per source; consumers deduplicate by it.")
    source: str = Field(min_length=1, description="The service that produced the event.")
    type: str = Field(min_length=1, description="Reverse-DNS type name ending in its version.")
    time: datetime = Field(description="When the fact happened, in UTC.")
    subject: str = Field(
        min_length=1, description="What the event is about (a request id); its Kafka key."
    )
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

    @staticmethod
    def structured_headers() -> list[tuple[str, bytes]]:
        """The Kafka headers of an event sent in structured mode, as the services send theirs."""
        return [(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())]

    @classmethod
    def from_json_bytes(cls, raw: bytes | None) -> Self:
        return cls.model_validate_json(raw or b"")

    @classmethod
    def from_kafka(cls, value: bytes | None, headers: KafkaHeaders) -> Self:
        """Decodes a Kafka message in either content mode of the CloudEvents Kafka binding.

        Structured mode when `content-type` is a CloudEvents format, binary mode when there is a
        `ce_specversion` header. A message with neither header is read as structured: the
        services wrote their events so before they labelled them.
        """
        found = _binding_headers(headers)
        content_type = found.pop(CONTENT_TYPE_HEADER, None)
        media_type = None if content_type is None else _media_type(content_type)
        try:
            if media_type is not None and media_type.startswith("application/cloudevents"):
                if media_type != STRUCTURED_CONTENT_TYPE:
                    raise NotACloudEvent(f"structured mode supports only {STRUCTURED_CONTENT_TYPE}")
                return cls.from_json_bytes(value)
            if f"{ATTRIBUTE_HEADER_PREFIX}specversion" in found:
                return cls._from_binary(value, found, media_type)
            if content_type is None:
                return cls.from_json_bytes(value)
        except ValidationError as exc:
            raise NotACloudEvent(describe_validation_error(exc)) from None
        raise NotACloudEvent(
            "neither structured mode (content-type application/cloudevents+json) "
            "nor binary mode (ce_specversion header)"
        )

    @classmethod
    def _from_binary(
        cls, value: bytes | None, found: dict[str, str], media_type: str | None
    ) -> Self:
        """Attributes from the `ce_*` headers, `datacontenttype` from `content-type` (JSON when
        absent), `data` from the value; extension attributes are ignored like unknown fields."""
        attributes: dict[str, Any] = {
            name.removeprefix(ATTRIBUTE_HEADER_PREFIX): text for name, text in found.items()
        }
        attributes.pop("datacontenttype", None)
        attributes.pop("data", None)
        if media_type is not None:
            attributes["datacontenttype"] = media_type
        if value:
            try:
                attributes["data"] = json.loads(value)
            except ValueError:
                raise NotACloudEvent("binary-mode data is not JSON") from None
        return cls.model_validate(attributes)


def _binding_headers(headers: KafkaHeaders) -> dict[str, str]:
    """The `ce_*` and `content-type` headers by lower-case name, decoded; others are not ours."""
    found: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.lower()
        if not (name.startswith(ATTRIBUTE_HEADER_PREFIX) or name == CONTENT_TYPE_HEADER):
            continue
        if name in found:
            raise NotACloudEvent(f"header {name} appears more than once")
        try:
            found[name] = (raw_value or b"").decode()
        except UnicodeDecodeError:
            raise NotACloudEvent(f"header {name} is not UTF-8") from None
    return found


def _media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()
