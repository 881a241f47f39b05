"""The AsyncAPI 3.0 document of every topic and message, generated from the event models.

Writers come from each event's topic, readers from the services' subscriptions;
`python -m services.asyncapi > docs/asyncapi.json` writes it, and a test keeps the committed copy
equal to what the declarations say.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.events.envelope import CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE, CloudEvent, Event
from shared.events.models import EVENT_TYPES
from shared.events.topics import Topic
from shared.messagebus import Subscription

SCHEMAS = "#/components/schemas/{model}"

HEADERS = {
    "type": "object",
    "description": (
        "Kafka headers of the CloudEvents Kafka protocol binding. The services send structured "
        "mode; they also read binary mode (attributes in ce_* headers, the data as the value)."
    ),
    "properties": {
        CONTENT_TYPE_HEADER: {
            "const": STRUCTURED_CONTENT_TYPE,
            "type": "string",
            "description": "Structured content mode: the value is the whole event as JSON.",
        }
    },
    "required": [CONTENT_TYPE_HEADER],
}


def _channel_id(topic: Topic) -> str:
    return topic.name.split(".")[1]


def _envelope_schema(model: type[Event]) -> dict[str, Any]:
    """The CloudEvent schema with `type` fixed and `data` the model's schema."""
    schema = CloudEvent.model_json_schema()
    properties = dict(schema["properties"])
    properties["type"] = {"const": model.event_type, "type": "string"}
    properties["data"] = {"$ref": SCHEMAS.format(model=model.__name__)}
    return {**schema, "title": f"{model.__name__}Event", "properties": properties}


def document(subscriptions: Sequence[Subscription[Any]]) -> dict[str, Any]:
    models = list(EVENT_TYPES.values())
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in dict.fromkeys(model.topic for model in models):
        channel = _channel_id(topic)
        channel_messages = [model.__name__ for model in models if model.topic == topic]
        channels[channel] = _channel(topic, channel_messages)
        operations.update(_operations(topic, channel, channel_messages, subscriptions))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Adminduk Go Digital events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 in structured JSON (Kafka binding, content-type "
                f"{STRUCTURED_CONTENT_TYPE}), keyed by request id. Fields marked personal_data "
                "travel sealed (AES-256-GCM under the topic's key, bound to the event id and "
                "field; a field with sealed_for under that service's X25519 key), are "
                "pseudonymised in the audit log and never logged."
            ),
        },
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": {model.__name__: _message(model) for model in models},
            "schemas": _schemas(models),
        },
    }


def _schemas(models: Sequence[type[Event]]) -> dict[str, Any]:
    """The models' data schemas, the Kafka headers, then each model's CloudEvent envelope."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=SCHEMAS
    )
    schemas: dict[str, Any] = dict(definitions["$defs"])
    schemas["KafkaHeaders"] = HEADERS
    for model in models:
        schemas[f"{model.__name__}Event"] = _envelope_schema(model)
    return schemas


def _message(model: type[Event]) -> dict[str, Any]:
    name = model.__name__
    return {
        "name": name,
        "title": model.event_type,
        "summary": (model.__doc__ or "").strip(),
        "contentType": STRUCTURED_CONTENT_TYPE,
        "headers": {"$ref": SCHEMAS.format(model="KafkaHeaders")},
        "payload": {"$ref": SCHEMAS.format(model=f"{name}Event")},
        "bindings": {"kafka": {"key": {"type": "string", "description": "The request id."}}},
    }


def _channel(topic: Topic, message_names: Sequence[str]) -> dict[str, Any]:
    return {
        "address": topic.name,
        "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in message_names},
        "bindings": {"kafka": {"partitions": topic.partitions, "topicConfiguration": {
            "retention.ms": topic.retention_ms}}},
    }  # fmt: skip


def _operations(
    topic: Topic,
    channel: str,
    message_names: Sequence[str],
    subscriptions: Sequence[Subscription[Any]],
) -> dict[str, Any]:
    """The topic's writer sending every message, then each service receiving those it reads."""
    operations: dict[str, Any] = {
        f"{topic.writer}Sends{channel.title()}": {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": _refs(channel, message_names),
        }
    }
    for subscription in subscriptions:
        received = [event.__name__ for event in subscription.events if event.topic == topic]
        if received:
            operations[f"{subscription.service}Receives{channel.title()}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": _refs(channel, received),
            }
    return operations


def _refs(channel: str, names: Sequence[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in names]


def render(subscriptions: Sequence[Subscription[Any]]) -> str:
    return json.dumps(document(subscriptions), indent=2, ensure_ascii=False) + "\n"
