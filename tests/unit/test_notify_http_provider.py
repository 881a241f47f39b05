from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import httpx
import pytest

from services.notify.adapters.http_provider import HttpMessageProvider, provider_client
from services.notify.domain.notification import ApprovedTemplate
from services.notify.service_layer.ports import ProviderError
from tests.builders import notification

Handler = Callable[[httpx.Request], httpx.Response]


def provider_answering(handler: Handler) -> HttpMessageProvider:
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://provider.test"
    )
    return HttpMessageProvider(client)


async def test_a_delivered_message_returns_the_provider_id() -> None:
    received: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202, json={"message_id": "wamid.HBgM"})

    message = notification("evt-1:citizen")

    assert await provider_answering(accept).send(message) == "wamid.HBgM"

    [request] = received
    assert request.method == "POST"
    assert request.url == "http://provider.test/v1/messages"
    assert request.headers["Idempotency-Key"] == "evt-1:citizen"
    assert json.loads(request.content) == {
        "reference": "evt-1:citizen",
        "channel": "WHATSAPP",
        "to": message.recipient,
        "text": message.text,
    }


async def test_a_message_from_an_approved_template_names_it_with_its_values() -> None:
    received: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(202, json={"message_id": "wamid.HBgN"})

    message = dataclasses.replace(
        notification("evt-1:citizen"),
        approved_template=ApprovedTemplate(
            name="adminduk_permohonan_disetujui",
            language="id",
            parameters=("Siti Aminah", "KK baru", "K7M2Q9XP"),
        ),
    )

    await provider_answering(accept).send(message)

    [request] = received
    sent = json.loads(request.content)
    assert sent["template"] == {
        "name": "adminduk_permohonan_disetujui",
        "language": "id",
        "parameters": ["Siti Aminah", "KK baru", "K7M2Q9XP"],
    }
    assert sent["text"] == message.text


async def test_a_numeric_provider_id_is_returned_as_text() -> None:
    provider = provider_answering(lambda request: httpx.Response(200, json={"message_id": 42}))

    assert await provider.send(notification()) == "42"


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
async def test_server_errors_and_throttling_are_retryable(status: int) -> None:
    provider = provider_answering(lambda request: httpx.Response(status))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is True
    assert str(status) in str(failed.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_refusals_of_the_message_are_permanent(status: int) -> None:
    provider = provider_answering(lambda request: httpx.Response(status, json={"error": "no"}))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is False
    assert str(status) in str(failed.value)


async def test_an_unreachable_provider_is_retryable() -> None:
    def refuse_connection(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderError) as failed:
        await provider_answering(refuse_connection).send(notification())

    assert failed.value.retryable is True
    assert "ConnectError" in str(failed.value)


async def test_a_timeout_is_retryable() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    with pytest.raises(ProviderError) as failed:
        await provider_answering(time_out).send(notification())

    assert failed.value.retryable is True


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"status": "queued"}),
        httpx.Response(200, content=b"OK"),
        httpx.Response(200, json=["wamid.HBgM"]),
        httpx.Response(204),
        httpx.Response(200, json={"message_id": None}),
        httpx.Response(200, json={"message_id": ""}),
    ],
    ids=["no-message-id", "not-json", "json-list", "empty", "null-id", "blank-id"],
)
async def test_a_success_without_a_message_id_is_retryable(response: httpx.Response) -> None:
    provider = provider_answering(lambda request: response)

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is True
    assert "message_id" in str(failed.value)


async def test_the_client_sends_the_token_as_a_bearer_header() -> None:
    async with provider_client("http://provider.test", token="s3cret", timeout_s=2.0) as client:
        assert client.headers["Authorization"] == "Bearer s3cret"
        assert client.timeout.read == 2.0
    async with provider_client("http://provider.test", token=None, timeout_s=2.0) as client:
        assert "Authorization" not in client.headers
