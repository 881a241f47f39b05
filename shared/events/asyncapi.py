"""The AsyncAPI 3.0 document of every topic and message, generated from the event models.

`python -m shared.events.asyncapi > docs/asyncapi.json` writes it; a test keeps the committed copy
equal to what the models say.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.events.envelope import CloudEvent, Event
from shared.events.models import EVENT_TYPES
from shared.events.topics import CASES, NOTIFICATIONS, REQUESTS, TOPIC_OF, Topic

WRITER: dict[Topic, str] = {REQUESTS: "intake", CASES: "processing", NOTIFICATIONS: "notify"}
READERS: dict[Topic, list[str]] = {
    REQUESTS: ["processing", "audit"],
    CASES: ["notify", "audit"],
    NOTIFICATIONS: ["audit"],
}
SCHEMAS = "#/components/schemas/{model}"


def _channel_id(topic: Topic) -> str:
    return topic.name.split(".")[1]


def _envelope_schema(model: type[Event]) -> dict[str, Any]:
    """The CloudEvent schema with `type` fixed and `data` the model's schema."""
    schema = CloudEvent.model_json_schema()
    properties = dict(schema["properties"])
    properties["type"] = {"const": model.event_type, "type": "string"}
    properties["data"] = {"$ref": SCHEMAS.format(model=model.__name__)}
    return {**schema, "title": f"{model.__name__}Event", "properties": properties}


def document() -> dict[str, Any]:
    models = list(EVENT_TYPES.values())
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template=SCHEMAS
    )
    schemas: dict[str, Any] = dict(definitions["$defs"])
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in models:
        name = model.__name__
        schemas[f"{name}Event"] = _envelope_schema(model)
        messages[name] = {
            "name": name,
            "title": model.event_type,
            "summary": (model.__doc__ or "").strip(),
            "contentType": "application/json",
            "payload": {"$ref": SCHEMAS.format(model=f"{name}Event")},
            "bindings": {"kafka": {"key": {"type": "string", "description": "The request id."}}},
        }
    for topic in WRITER:
        channel = _channel_id(topic)
        channel_messages = {
            model.__name__: {"$ref": f"#/components/messages/{model.__name__}"}
            for model in models
            if TOPIC_OF[model] == topic
        }
        channels[channel] = {
            "address": topic.name,
            "messages": channel_messages,
            "bindings": {"kafka": {"partitions": topic.partitions, "topicConfiguration": {
                "retention.ms": topic.retention_ms}}},
        }  # fmt: skip
        refs = [{"$ref": f"#/channels/{channel}/messages/{name}"} for name in channel_messages]
        operations[f"{WRITER[topic]}Sends{channel.title()}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": refs,
        }
        for reader in READERS[topic]:
            operations[f"{reader}Receives{channel.title()}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": refs,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Adminduk Go Digital events",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 in structured JSON, keyed by request id. Fields marked "
                "personal_data are pseudonymised in the audit log and never logged."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
