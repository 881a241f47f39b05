"""Personal fields of events sealed on their way to Kafka, so that a broker's disk, a backup or a
reader of a topic without its key learns none of them.

Each field marked `personal_data` is sealed on its own, bound to the event's type, id and the
field's path, so a sealed value copied into another event or field does not open. Most are sealed
under their topic's keyring (envelope AES-GCM, `shared.crypto.Cipher`), held by the topic's writer
and by the readers that need the values; keys are listed newest first, so a topic key is rotated
like a data key at rest. A field also marked `sealed_for` (the sign-in code) is sealed to that
service's X25519 public key instead: its writer cannot read it back, and other readers (audit)
keep it sealed.

The relay seals when it publishes (`EventKeys.seal`), so outbox items stay exactly as written;
a consumer opens the fields of the events it handles (`EventKeys.open`), so a service needs the
keys of what it reads, not of everything on its topics.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, SecretStr

from shared.config import MissingSecrets, ServiceSettings, local_secret
from shared.crypto import Cipher, UnreadableSecret
from shared.events.envelope import CloudEvent, Event
from shared.events.models import EVENT_TYPES
from shared.recipient_crypto import RecipientOpener, RecipientSealer

TOPIC_KEY_SECRET = "ADMINDUK_TOPIC_KEYS_{topic}"
"""The local secret of a topic's keyring outside production, shared by the stack's services."""


@dataclass(frozen=True, slots=True)
class SealedField:
    """A personal field of an event: where it sits, and whose key seals it."""

    path: tuple[str, ...]
    recipient: str | None = None
    """The service whose private key alone opens it; None: the topic's keyring."""

    @property
    def name(self) -> str:
        return ".".join(self.path)


@cache
def sealed_fields(model: type[BaseModel]) -> tuple[SealedField, ...]:
    """The fields of `model` marked `personal_data`, nested models included, as audit finds
    them to pseudonymise."""
    found: list[SealedField] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal_data"):
            recipient = extra.get("sealed_for")
            found.append(SealedField((name,), recipient if isinstance(recipient, str) else None))
        elif isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            found += [
                SealedField((name, *inner.path), inner.recipient)
                for inner in sealed_fields(info.annotation)
            ]
    return tuple(found)


def topic_sealed(event_class: type[Event]) -> bool:
    """Whether the event has fields sealed under its topic's keyring."""
    return any(field.recipient is None for field in sealed_fields(event_class))


class EventKeys:
    """One service's keys for events: topic keyrings it writes or reads, the public keys of the
    services it seals to, and its own private keys for what is sealed to it."""

    def __init__(
        self,
        *,
        service: str,
        topics: Mapping[str, Cipher],
        recipients: Mapping[str, RecipientSealer] | None = None,
        own: RecipientOpener | None = None,
    ) -> None:
        self._service = service
        self._topics = dict(topics)
        self._recipients = dict(recipients or {})
        self._own = own

    def __repr__(self) -> str:
        return f"EventKeys(service={self._service!r}, topics={sorted(self._topics)!r})"

    def seal(self, event: CloudEvent) -> CloudEvent:
        """The event with every personal field of its data sealed."""
        event_class = EVENT_TYPES.get(event.type)
        if event_class is None or not sealed_fields(event_class):
            return event
        data = _copy(event.data)
        for field in sealed_fields(event_class):
            _replace(
                data, field.path, lambda value, f=field: self._seal(event, event_class, f, value)
            )
        return event.model_copy(update={"data": data})

    def seal_payload(self, payload: bytes) -> bytes:
        """An event as JSON bytes with its personal fields sealed: what the relay publishes."""
        return self.seal(CloudEvent.from_json_bytes(payload)).to_json_bytes()

    def open(self, event: CloudEvent, event_class: type[Event]) -> dict[str, Any]:
        """The event's data with the personal fields this service may read opened; a field
        sealed to another service stays sealed. UnreadableSecret if a field does not open."""
        fields = sealed_fields(event_class)
        if not fields:
            return event.data
        data = _copy(event.data)
        for field in fields:
            if field.recipient is not None and field.recipient != self._service:
                continue
            _replace(
                data, field.path, lambda value, f=field: self._open(event, event_class, f, value)
            )
        return data

    def _seal(
        self, event: CloudEvent, event_class: type[Event], field: SealedField, value: Any
    ) -> str:
        context = _context(event, field)
        if field.recipient is not None:
            sealer = self._recipients.get(field.recipient)
            if sealer is None:
                raise UnreadableSecret(
                    f"{self._service} holds no public key of {field.recipient} to seal "
                    f"{field.name} of {event.type}"
                )
            return sealer.seal(_json(value), context=context)
        return self._keyring(event_class, event.type).seal(_json(value), context=context)

    def _open(
        self, event: CloudEvent, event_class: type[Event], field: SealedField, value: Any
    ) -> Any:
        if not isinstance(value, str):
            raise UnreadableSecret(f"{field.name} of {event.type} is not sealed")
        context = _context(event, field)
        try:
            if field.recipient is not None:
                if self._own is None:
                    raise UnreadableSecret(f"{self._service} holds no private key to open it")
                plaintext = self._own.open(value, context=context)
            else:
                plaintext = self._keyring(event_class, event.type).open(value, context=context)
            return json.loads(plaintext)
        except UnreadableSecret as exc:
            raise UnreadableSecret(f"{field.name} of {event.type}: {exc}") from None
        except ValueError:
            raise UnreadableSecret(f"{field.name} of {event.type} is not sealed JSON") from None

    def _keyring(self, event_class: type[Event], event_type: str) -> Cipher:
        topic = event_class.topic.name
        keyring = self._topics.get(topic)
        if keyring is None:
            raise UnreadableSecret(
                f"{self._service} holds no key of topic {topic}, whose {event_type} it handles"
            )
        return keyring


def needed_topics(service: str, handled: Iterable[type[Event]]) -> list[str]:
    """The personal topics whose keys `service` needs: those it writes and those of the events it
    handles with fields under a topic key."""
    written = [cls for cls in EVENT_TYPES.values() if cls.topic.writer == service]
    classes = [cls for cls in (*written, *handled) if topic_sealed(cls)]
    return sorted({cls.topic.name for cls in classes})


def sealed_recipients(service: str) -> list[str]:
    """The services whose public keys `service` seals to, in the events it writes."""
    return sorted(
        {
            field.recipient
            for cls in EVENT_TYPES.values()
            if cls.topic.writer == service
            for field in sealed_fields(cls)
            if field.recipient is not None
        }
    )


def event_keys(
    settings: ServiceSettings,
    *,
    service: str,
    handled: Iterable[type[Event]],
    recipients: Mapping[str, RecipientSealer] | None = None,
    own: RecipientOpener | None = None,
) -> EventKeys:
    """The keys `service` needs for the events it writes and handles, from `<PREFIX>TOPIC_KEYS`
    (a JSON object: topic name → comma-separated hex keys, newest first). Outside production a
    missing topic's keys are made once in the local secrets folder, which the local stack's
    services share; production refuses to start without them."""
    configured = _configured(settings.topic_keys, variable=f"{settings.env_prefix}TOPIC_KEYS")
    topics: dict[str, Cipher] = {}
    missing: list[str] = []
    for topic in needed_topics(service, handled):
        keys = configured.get(topic)
        if keys is None and settings.environment == "production":
            missing.append(topic)
            continue
        if keys is None:
            keys = local_secret(settings.local_secrets_dir, TOPIC_KEY_SECRET.format(topic=topic))
        try:
            topics[topic] = Cipher.from_hex(data_keys=keys, lookup_key=None)
        except ValueError as exc:
            raise MissingSecrets(f"{settings.env_prefix}TOPIC_KEYS for {topic}: {exc}") from None
    if missing:
        raise MissingSecrets(
            f"production needs {settings.env_prefix}TOPIC_KEYS to hold keys of {', '.join(missing)}"
        )
    lacking = [name for name in sealed_recipients(service) if name not in (recipients or {})]
    if lacking:
        raise MissingSecrets(f"{service} seals to {', '.join(lacking)} but has no public key")
    return EventKeys(service=service, topics=topics, recipients=recipients, own=own)


def _configured(value: SecretStr | None, *, variable: str) -> dict[str, str]:
    """The configured keyrings by topic; errors name the variable, never a key."""
    if value is None or not value.get_secret_value().strip():
        return {}
    try:
        parsed = json.loads(value.get_secret_value())
    except ValueError:
        raise MissingSecrets(f"{variable} must be a JSON object of topic names") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(topic, str) and isinstance(keys, str) for topic, keys in parsed.items()
    ):
        raise MissingSecrets(f"{variable} must map topic names to comma-separated hex keys")
    return parsed


def _context(event: CloudEvent, field: SealedField) -> str:
    return f"event/{event.type}/{event.id}/{field.name}"


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that replacing a nested field leaves the original as it was."""
    return {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}


def _replace(data: dict[str, Any], path: Sequence[str], change: Any) -> None:
    """Replaces the value at `path` by `change(value)`; an absent or null value stays as it is,
    showing only that there is none."""
    *parents, name = path
    for parent in parents:
        data = data.get(parent)  # type: ignore[assignment]
        if not isinstance(data, dict):
            return
    if data.get(name) is not None:
        data[name] = change(data[name])


def main() -> None:
    """Prints the public key of the current X25519 private key read from standard input: what
    writers seal to (INTAKE_SIGN_IN_CODE_KEY from NOTIFY_SIGN_IN_CODE_KEYS)."""
    print(RecipientOpener.from_hex(sys.stdin.read()).sealer.public_key_hex)


if __name__ == "__main__":
    main()
