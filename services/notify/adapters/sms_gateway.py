"""SMS through an HTTP gateway: `POST {url}/v1/sms` with `{to, text, reference}`, a bearer token
and an `Idempotency-Key`; the gateway answers `{"message_id"}` and sends the same message once
however often it is posted under one key (the contract is in README, "SMS gateway")."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from services.notify.adapters.provider_http import is_retryable_status, retry_after, unreachable
from services.notify.domain.notification import Notification
from services.notify.service_layer.ports import ProviderError
from shared.clock import Clock, system_clock

ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class SmsGatewayAccount:
    url: str
    token: str
    timeout_s: float


class SmsGatewayProvider:
    """Sends one SMS per notification under its idempotency key, so a retry after a lost answer
    sends nothing twice."""

    def __init__(self, client: httpx.AsyncClient, *, clock: Clock = system_clock) -> None:
        self._client = client
        self._clock = clock

    async def send(self, notification: Notification) -> str:
        key = notification.idempotency_key
        try:
            response = await self._client.post(
                "/v1/sms",
                json={"to": notification.recipient, "text": notification.text, "reference": key},
                headers={"Idempotency-Key": key},
            )
        except httpx.TransportError as exc:
            raise unreachable("sms gateway", exc) from exc
        if response.is_success:
            return _message_id(response)
        reason = f"sms gateway answered {response.status_code}"
        if (code := _error_code(response)) is not None:
            reason += f": {code}"
        retryable = is_retryable_status(response.status_code)
        raise ProviderError(
            reason,
            retryable=retryable,
            retry_after=retry_after(response, self._clock) if retryable else None,
        )


def sms_client(account: SmsGatewayAccount) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=account.url,
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=account.timeout_s,
    )


def _message_id(response: httpx.Response) -> str:
    try:
        message_id = response.json()["message_id"]
    except (ValueError, KeyError, TypeError):
        message_id = None
    if not isinstance(message_id, str | int) or isinstance(message_id, bool) or message_id == "":
        raise ProviderError("sms gateway answered without a message_id", retryable=True)
    return str(message_id)


def _error_code(response: httpx.Response) -> str | None:
    """The gateway's machine-readable error code; its message may quote the number and is never
    read."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) and ERROR_CODE.match(code) else None
