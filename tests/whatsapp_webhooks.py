"""Webhook deliveries in the exact shape the WhatsApp Business Cloud API sends, and their
signature, for tests that play Meta."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

BUSINESS_ACCOUNT = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"


def text(
    sender: str, message_id: str, body: str, *, timestamp: int = 1_740_965_400
) -> dict[str, Any]:
    return _message(sender, message_id, "text", timestamp, text={"body": body})


def button_reply(sender: str, message_id: str, choice_id: str, title: str) -> dict[str, Any]:
    interactive = {"type": "button_reply", "button_reply": {"id": choice_id, "title": title}}
    return _message(sender, message_id, "interactive", interactive=interactive)


def list_reply(sender: str, message_id: str, choice_id: str, title: str) -> dict[str, Any]:
    interactive = {
        "type": "list_reply",
        "list_reply": {"id": choice_id, "title": title, "description": "Pilihan"},
    }
    return _message(sender, message_id, "interactive", interactive=interactive)


def image(sender: str, message_id: str, media_id: str) -> dict[str, Any]:
    return _message(
        sender,
        message_id,
        "image",
        image={
            "caption": "Buku nikah",
            "mime_type": "image/jpeg",
            "sha256": "a3RM8Rm0mN0cCAR8wIJd0mnFSXLbJ3gJ4IpFMVbK3Ps=",
            "id": media_id,
        },
    )


def document(sender: str, message_id: str, media_id: str) -> dict[str, Any]:
    return _message(
        sender,
        message_id,
        "document",
        document={
            "caption": "KK",
            "filename": "kk.pdf",
            "mime_type": "application/pdf",
            "sha256": "Jg0ExyJ6dCzhtXmL1o7MX3i3mXg9tYL6ywu6Hr2Kf6Y=",
            "id": media_id,
        },
    )


def of_type(sender: str, message_id: str, kind: str, **content: Any) -> dict[str, Any]:
    return _message(sender, message_id, kind, **content)


def _message(
    sender: str, message_id: str, kind: str, timestamp: int = 1_740_965_400, **content: Any
) -> dict[str, Any]:
    return {"from": sender, "id": message_id, "timestamp": str(timestamp), "type": kind, **content}


def status(
    recipient: str, message_id: str, state: str = "delivered", **extra: Any
) -> dict[str, Any]:
    """A status of one of the office's messages, as the Cloud API's reference shows it."""
    return {
        "id": message_id,
        "status": state,
        "timestamp": "1740965460",
        "recipient_id": recipient,
        "conversation": {
            "id": "CONVERSATION_ID",
            "origin": {"type": "service"},
        },
        "pricing": {"billable": False, "pricing_model": "CBP", "category": "service"},
        **extra,
    }


def notification(
    *, messages: Sequence[dict[str, Any]] = (), statuses: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """A delivery with one change of the `messages` field, as the Cloud API nests it."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
    }
    senders = list(dict.fromkeys(message["from"] for message in messages))
    if messages:
        value["contacts"] = [{"profile": {"name": "Warga"}, "wa_id": sender} for sender in senders]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": BUSINESS_ACCOUNT, "changes": [{"value": value, "field": "messages"}]}],
    }


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def signed(body: bytes, app_secret: str) -> dict[str, str]:
    """The headers Meta sends with a delivery."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
