"""WhatsApp messages through Meta's Cloud API: `POST /{version}/{phone-number-id}/messages`.

A message the citizen did not just ask for goes as the approved template with its parameters;
a reply in a chat the citizen opened within the day goes as free text. The notification's
idempotency key rides along as `biz_opaque_callback_data`, which Meta echoes in the status
webhooks. The Cloud API takes no idempotency header: a message sent twice arrives twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from services.notify.adapters.provider_http import is_retryable_status, retry_after, unreachable
from services.notify.domain.notification import Notification
from services.notify.service_layer.ports import ProviderError
from shared.clock import Clock, system_clock

THROTTLED = frozenset({4, 80007, 130429, 131048, 131056})
"""Rate limits: the app's, the account's, throughput, spam rate, pair rate."""
TRANSIENT = frozenset({1, 2, 131000, 131016, 133004})
"""Meta's own trouble: unknown error, service unavailable, something went wrong, server down."""
ERROR_TYPE = re.compile(r"^[A-Za-z]{1,40}$")


@dataclass(frozen=True)
class WhatsAppAccount:
    """Where and as whom notify sends: the Graph API, its version, the business number's id."""

    base_url: str
    api_version: str
    phone_number_id: str
    access_token: str
    timeout_s: float


def cloud_api_message(notification: Notification) -> dict[str, Any]:
    """The body Meta documents for one message to one person."""
    message: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": notification.recipient.removeprefix("+"),
        "biz_opaque_callback_data": notification.idempotency_key,
    }
    template = notification.approved_template
    if template is None:
        message["type"] = "text"
        message["text"] = {"body": notification.text, "preview_url": False}
        return message
    body: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
    if template.parameters:
        parameters = [{"type": "text", "text": value} for value in template.parameters]
        body["components"] = [{"type": "body", "parameters": parameters}]
    message["type"] = "template"
    message["template"] = body
    return message


class WhatsAppCloudProvider:
    """Sends through the Cloud API; a refusal becomes a ProviderError that names Meta's error
    code and type, never the number or the text."""

    def __init__(
        self, client: httpx.AsyncClient, account: WhatsAppAccount, *, clock: Clock = system_clock
    ) -> None:
        self._client = client
        self._path = f"/{account.api_version}/{account.phone_number_id}/messages"
        self._clock = clock

    async def send(self, notification: Notification) -> str:
        try:
            response = await self._client.post(self._path, json=cloud_api_message(notification))
        except httpx.TransportError as exc:
            raise unreachable("whatsapp", exc) from exc
        if response.is_success:
            return _message_id(response)
        raise graph_failure(response, clock=self._clock)


def whatsapp_client(account: WhatsAppAccount) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=account.base_url,
        headers={"Authorization": f"Bearer {account.access_token}"},
        timeout=account.timeout_s,
    )


def _message_id(response: httpx.Response) -> str:
    try:
        message_id = response.json()["messages"][0]["id"]
    except (ValueError, KeyError, IndexError, TypeError):
        message_id = None
    if not isinstance(message_id, str) or not message_id:
        raise ProviderError(
            "whatsapp answered without a message id", retryable=True, maybe_accepted=True
        )
    return message_id


def graph_failure(response: httpx.Response, *, clock: Clock) -> ProviderError:
    """Maps a Graph error answer: throttling and Meta's own trouble are worth a retry, anything
    else about the message (undeliverable, outside the 24-hour window, template, parameters,
    token) is not, so delivery moves on to the next channel."""
    code, subcode, kind = _graph_error(response)
    reason = f"whatsapp answered {response.status_code}"
    if code is not None:
        reason += f": {kind or 'error'} code {code}" + (f"/{subcode}" if subcode else "")
    retryable = is_retryable_status(response.status_code) or code in THROTTLED | TRANSIENT
    return ProviderError(
        reason, retryable=retryable, retry_after=retry_after(response, clock) if retryable else None
    )


def _graph_error(response: httpx.Response) -> tuple[int | None, int | None, str | None]:
    """Code, subcode and type of a Graph error object; its message may quote personal data and
    is never read."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None, None, None
    if not isinstance(error, dict):
        return None, None, None
    code, subcode, kind = error.get("code"), error.get("error_subcode"), error.get("type")
    return (
        code if isinstance(code, int) else None,
        subcode if isinstance(subcode, int) else None,
        kind if isinstance(kind, str) and ERROR_TYPE.match(kind) else None,
    )
