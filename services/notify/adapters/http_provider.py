"""A messaging provider (WhatsApp/SMS gateway) reached over HTTP with httpx."""

from __future__ import annotations

import httpx

from services.notify.domain.notification import Notification
from services.notify.service_layer.ports import ProviderError

RETRYABLE_STATUS = {408, 425, 429}


class HttpMessageProvider:
    """POSTs messages to `{base_url}/v1/messages`, the notification id as idempotency key.

    A message from a template says which, with its language and parameters, for a WhatsApp
    gateway to send as the approved template; the text is what the citizen reads either way.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, notification: Notification) -> str:
        message: dict[str, object] = {
            "reference": notification.notification_id,
            "channel": notification.channel.value,
            "to": notification.recipient,
            "text": notification.text,
        }
        if (template := notification.approved_template) is not None:
            message["template"] = {
                "name": template.name,
                "language": template.language,
                "parameters": list(template.parameters),
            }
        try:
            response = await self._client.post(
                "/v1/messages",
                json=message,
                headers={"Idempotency-Key": notification.notification_id},
            )
        except httpx.TransportError as exc:
            raise ProviderError(
                f"provider unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        if response.is_success:
            try:
                message_id = response.json()["message_id"]
            except (ValueError, KeyError, TypeError):
                message_id = None
            if not isinstance(message_id, str | int) or message_id == "":
                raise ProviderError("provider answered without a message_id", retryable=True)
            return str(message_id)
        retryable = response.status_code >= 500 or response.status_code in RETRYABLE_STATUS
        raise ProviderError(f"provider answered {response.status_code}", retryable=retryable)


def provider_client(base_url: str, *, token: str | None, timeout_s: float) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)
