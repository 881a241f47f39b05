"""Notify's provider adapters: what each sends, over real loopback sockets to the stand-ins, and
how each provider's refusals map to retryable or permanent failures."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from devstack.message_sink import Running, running
from services.notify.adapters.provider_http import retry_after
from services.notify.adapters.providers import ChannelProviders
from services.notify.adapters.sms_gateway import SmsGatewayAccount, SmsGatewayProvider, sms_client
from services.notify.adapters.smtp_email import SmtpEmailProvider, SmtpServer
from services.notify.adapters.whatsapp_cloud import (
    WhatsAppAccount,
    WhatsAppCloudProvider,
    cloud_api_message,
    whatsapp_client,
)
from services.notify.config import NotifySettings
from services.notify.domain.notification import ApprovedTemplate, Notification
from services.notify.service_layer.ports import ProviderError
from shared.events.models.values import DeliveryChannel
from tests.builders import MOBILE, notification

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]
RECEIPT = ApprovedTemplate(
    name="adminduk_permohonan_diterima",
    language="id",
    parameters=("Siti Aminah", "KK baru", "K7M2Q9XP", "Selasa, 1 Desember 2026"),
)


def account(base_url: str = "http://graph.test") -> WhatsAppAccount:
    return WhatsAppAccount(
        base_url=base_url,
        api_version="v21.0",
        phone_number_id="106540352242922",
        access_token="token-1",
        timeout_s=2.0,
    )


def whatsapp_answering(handler: Handler) -> WhatsAppCloudProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://graph.test")
    return WhatsAppCloudProvider(client, account(), clock=lambda: NOW)


def sms_answering(handler: Handler) -> SmsGatewayProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://sms.test")
    return SmsGatewayProvider(client, clock=lambda: NOW)


def sms_message(notification_id: str = "evt-1:citizen") -> Notification:
    return dataclasses.replace(notification(notification_id), channel=DeliveryChannel.SMS)


def email_message(notification_id: str = "evt-1:staff") -> Notification:
    return dataclasses.replace(
        notification(notification_id),
        channel=DeliveryChannel.EMAIL,
        recipient="verifikator@dukcapil.example.go.id",
        subject="Berkas baru menunggu: K7M2Q9XP",
        text="Yth. Bapak/Ibu,\nberkas K7M2Q9XP menunggu verifikasi. Terima kasih.",
    )


def graph_error(
    status: int, code: int, *, subcode: int = 0, retry_after: str | None = None
) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        error = {
            "message": f"(#{code}) Message to {MOBILE} failed",
            "type": "OAuthException",
            "code": code,
            "error_subcode": subcode,
            "fbtrace_id": "AbCdEf",
        }
        headers = {"Retry-After": retry_after} if retry_after else {}
        return httpx.Response(status, json={"error": error}, headers=headers)

    return answer


@pytest.fixture
async def loopback() -> AsyncIterator[Running]:
    async with running() as providers:
        yield providers


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


# --- WhatsApp Cloud API ------------------------------------------------------------------------


async def test_a_template_message_reaches_the_cloud_api_as_meta_documents_it(
    loopback: Running,
) -> None:
    message = dataclasses.replace(notification(), approved_template=RECEIPT)
    async with whatsapp_client(account(loopback.url)) as client:
        wamid = await WhatsAppCloudProvider(client, account(loopback.url)).send(message)

    [received] = loopback.sink.received
    assert wamid.startswith("wamid.")
    assert received.message_id == wamid
    assert received.channel is DeliveryChannel.WHATSAPP
    assert received.to == MOBILE
    assert received.template is not None
    assert received.template.name == "adminduk_permohonan_diterima"
    assert received.template.parameters == list(RECEIPT.parameters)
    assert received.reference == message.idempotency_key
    assert "Nomor lacak: K7M2Q9XP" in received.text


def test_the_cloud_api_body_carries_the_template_its_language_and_parameters() -> None:
    message = dataclasses.replace(notification(), approved_template=RECEIPT)

    assert cloud_api_message(message) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": MOBILE.removeprefix("+"),
        "biz_opaque_callback_data": message.idempotency_key,
        "type": "template",
        "template": {
            "name": "adminduk_permohonan_diterima",
            "language": {"code": "id"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": value} for value in RECEIPT.parameters],
                }
            ],
        },
    }


async def test_a_reply_in_a_chat_goes_as_text_to_the_number_id_without_idempotency_key() -> None:
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgM"}]}
        return httpx.Response(200, json=answer)

    message = notification()

    assert await whatsapp_answering(accept).send(message) == "wamid.HBgM"

    [request] = seen
    assert request.url == "http://graph.test/v21.0/106540352242922/messages"
    assert "Idempotency-Key" not in request.headers
    body = json.loads(request.content)
    assert body["type"] == "text"
    assert body["text"] == {"body": message.text, "preview_url": False}
    assert "template" not in body


async def test_the_clients_send_the_tokens_as_bearer_headers() -> None:
    sms = SmsGatewayAccount(url="http://sms.test", token="t0k", timeout_s=3.0)
    async with whatsapp_client(account()) as whatsapp, sms_client(sms) as gateway:
        assert whatsapp.headers["Authorization"] == "Bearer token-1"
        assert gateway.headers["Authorization"] == "Bearer t0k"
        assert (whatsapp.timeout.read, gateway.timeout.read) == (2.0, 3.0)


@pytest.mark.parametrize(
    ("status", "code", "subcode"),
    [
        (400, 131026, 0),
        (400, 131047, 0),
        (400, 132000, 0),
        (400, 132001, 0),
        (400, 100, 33),
        (401, 190, 463),
        (403, 10, 0),
    ],
    ids=[
        "undeliverable",
        "outside-24h",
        "template-params",
        "no-template",
        "param",
        "token",
        "perm",
    ],
)
async def test_refusals_of_the_message_are_permanent_and_name_no_person(
    status: int, code: int, subcode: int
) -> None:
    provider = whatsapp_answering(graph_error(status, code, subcode=subcode, retry_after="5"))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is False
    assert failed.value.retry_after is None
    assert f"code {code}" in str(failed.value)
    assert "OAuthException" in str(failed.value)
    assert MOBILE.removeprefix("+") not in str(failed.value)
    assert "Siti" not in str(failed.value)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 4), (400, 80007), (400, 130429), (400, 131048), (400, 131056), (500, 2), (503, 1)],
)
async def test_throttling_and_metas_own_trouble_are_retried(status: int, code: int) -> None:
    provider = whatsapp_answering(graph_error(status, code))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is True
    assert failed.value.maybe_accepted is False


async def test_a_retry_after_in_seconds_or_as_a_date_is_passed_on() -> None:
    in_seconds = whatsapp_answering(graph_error(429, 130429, retry_after="17"))
    later = format_datetime(NOW + timedelta(minutes=2), usegmt=True)
    as_date = whatsapp_answering(graph_error(503, 2, retry_after=later))
    past = format_datetime(NOW - timedelta(minutes=2), usegmt=True)
    in_the_past = whatsapp_answering(graph_error(503, 2, retry_after=past))
    unreadable = whatsapp_answering(graph_error(503, 2, retry_after="soon"))

    waits = []
    for provider in (in_seconds, as_date, in_the_past, unreadable):
        with pytest.raises(ProviderError) as failed:
            await provider.send(notification())
        waits.append(failed.value.retry_after)

    assert waits == [timedelta(seconds=17), timedelta(minutes=2), timedelta(0), None]


@pytest.mark.parametrize(("status", "retryable"), [(502, True), (429, True), (404, False)])
async def test_an_answer_that_is_no_graph_error_is_judged_by_its_status(
    status: int, retryable: bool
) -> None:
    provider = whatsapp_answering(lambda request: httpx.Response(status, text="<html>"))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert failed.value.retryable is retryable
    assert str(failed.value) == f"whatsapp answered {status}"


async def test_a_timeout_after_sending_may_have_been_accepted_a_refused_connection_not() -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ProviderError) as timed_out:
        await whatsapp_answering(time_out).send(notification())
    with pytest.raises(ProviderError) as refused:
        await whatsapp_answering(refuse).send(notification())

    assert (timed_out.value.retryable, timed_out.value.maybe_accepted) == (True, True)
    assert (refused.value.retryable, refused.value.maybe_accepted) == (True, False)
    assert "ReadTimeout" in str(timed_out.value)


@pytest.mark.parametrize(
    "answer",
    [{"messaging_product": "whatsapp", "messages": []}, {"messages": [{"id": ""}]}, ["wamid"]],
)
async def test_a_success_without_a_wamid_is_retried_as_perhaps_accepted(answer: object) -> None:
    provider = whatsapp_answering(lambda request: httpx.Response(200, json=answer))

    with pytest.raises(ProviderError) as failed:
        await provider.send(notification())

    assert (failed.value.retryable, failed.value.maybe_accepted) == (True, True)


async def test_the_stand_in_hanging_up_on_a_timed_out_client_is_perhaps_accepted(
    loopback: Running, http: httpx.AsyncClient
) -> None:
    fault = {"channel": "WHATSAPP", "kind": "hang"}
    assert (await http.post(f"{loopback.url}/v1/faults", json=fault)).status_code == 204
    short = dataclasses.replace(account(loopback.url), timeout_s=0.3)

    async with whatsapp_client(short) as client:
        with pytest.raises(ProviderError) as failed:
            await WhatsAppCloudProvider(client, short).send(notification())

    assert (failed.value.retryable, failed.value.maybe_accepted) == (True, True)
    assert len(loopback.sink.received) == 1, "the stand-in took it before it hung"


# --- SMS gateway -------------------------------------------------------------------------------


async def test_an_sms_goes_to_the_gateway_once_under_its_idempotency_key(
    loopback: Running,
) -> None:
    gateway = SmsGatewayAccount(url=loopback.url, token="sms-token", timeout_s=2.0)
    message = sms_message()
    async with sms_client(gateway) as client:
        provider = SmsGatewayProvider(client)
        first = await provider.send(message)
        again = await provider.send(message)

    assert first == again
    [received] = loopback.sink.received
    assert (received.channel, received.to, received.text) == (
        DeliveryChannel.SMS,
        MOBILE,
        message.text,
    )
    assert received.reference == message.idempotency_key


async def test_the_sms_request_carries_its_key_and_reference() -> None:
    seen: list[httpx.Request] = []

    def accept(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"message_id": 42})

    message = sms_message()

    assert await sms_answering(accept).send(message) == "42"

    [request] = seen
    assert request.url == "http://sms.test/v1/sms"
    assert request.headers["Idempotency-Key"] == message.idempotency_key
    assert json.loads(request.content) == {
        "to": MOBILE,
        "text": message.text,
        "reference": message.idempotency_key,
    }


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *[(500, True), (502, True), (503, True), (408, True), (429, True)],
        *[(400, False), (401, False), (403, False), (404, False), (422, False)],
    ],
)
async def test_sms_gateway_refusals_map_by_status(status: int, retryable: bool) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        error = {"code": "invalid_number", "message": f"{MOBILE} is not reachable"}
        return httpx.Response(status, json={"error": error}, headers={"Retry-After": "30"})

    with pytest.raises(ProviderError) as failed:
        await sms_answering(refuse).send(sms_message())

    assert failed.value.retryable is retryable
    assert failed.value.retry_after == (timedelta(seconds=30) if retryable else None)
    assert str(failed.value) == f"sms gateway answered {status}: invalid_number"


async def test_an_sms_gateway_fault_with_retry_after_over_a_socket(
    loopback: Running, http: httpx.AsyncClient
) -> None:
    fault = {"channel": "SMS", "status": 429, "retry_after": "12"}
    await http.post(f"{loopback.url}/v1/faults", json=fault)
    gateway = SmsGatewayAccount(url=loopback.url, token="sms-token", timeout_s=2.0)

    async with sms_client(gateway) as client:
        with pytest.raises(ProviderError) as failed:
            await SmsGatewayProvider(client).send(sms_message())
        delivered = await SmsGatewayProvider(client).send(sms_message())

    assert (failed.value.retryable, failed.value.retry_after) == (True, timedelta(seconds=12))
    assert [m.message_id for m in loopback.sink.received] == [delivered]


# --- SMTP --------------------------------------------------------------------------------------


def smtp(port: int, **changes: object) -> SmtpServer:
    server = SmtpServer(
        host="127.0.0.1",
        port=port,
        tls="none",
        sender="Dispendukcapil <noreply@dukcapil.example.go.id>",
        timeout_s=2.0,
    )
    return dataclasses.replace(server, **changes)  # type: ignore[arg-type]


async def test_an_email_reaches_the_smtp_server_with_subject_body_and_a_stable_message_id(
    loopback: Running,
) -> None:
    provider = SmtpEmailProvider(smtp(loopback.smtp_port))
    message = email_message()

    first = await provider.send(message)
    again = await provider.send(message)
    other = await provider.send(email_message("evt-2:staff"))

    assert first == again != other
    assert first.endswith("@dukcapil.example.go.id>")
    assert "evt-1" not in first
    [received, _] = loopback.sink.received
    assert received.channel is DeliveryChannel.EMAIL
    assert received.to == "verifikator@dukcapil.example.go.id"
    assert received.subject == "Berkas baru menunggu: K7M2Q9XP"
    assert received.text.strip() == message.text
    assert received.message_id == first


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (421, True), (550, False)])
async def test_smtp_refusals_are_temporary_for_4xx_and_permanent_for_5xx(
    loopback: Running, http: httpx.AsyncClient, code: int, retryable: bool
) -> None:
    await http.post(f"{loopback.url}/v1/faults", json={"channel": "EMAIL", "status": code})

    with pytest.raises(ProviderError) as failed:
        await SmtpEmailProvider(smtp(loopback.smtp_port)).send(email_message())

    assert failed.value.retryable is retryable
    assert str(failed.value) == f"smtp server answered {code}"
    assert loopback.sink.received == []


async def test_an_unreachable_or_silent_smtp_server_is_retried(
    loopback: Running, http: httpx.AsyncClient
) -> None:
    await http.post(f"{loopback.url}/v1/faults", json={"channel": "EMAIL", "kind": "hang"})
    closed = smtp(1)
    silent = smtp(loopback.smtp_port, timeout_s=0.3)

    with pytest.raises(ProviderError) as unreachable:
        await SmtpEmailProvider(closed).send(email_message())
    with pytest.raises(ProviderError) as timed_out:
        await SmtpEmailProvider(silent).send(email_message())

    assert (unreachable.value.retryable, unreachable.value.maybe_accepted) == (True, False)
    assert (timed_out.value.retryable, timed_out.value.maybe_accepted) == (True, True)


async def test_starttls_wanted_where_the_server_has_none_is_permanent(loopback: Running) -> None:
    with pytest.raises(ProviderError) as failed:
        await SmtpEmailProvider(smtp(loopback.smtp_port, tls="starttls")).send(email_message())

    assert failed.value.retryable is False


# --- one provider for every channel, configured by environment --------------------------------


async def test_each_channel_goes_to_its_own_provider(loopback: Running, tmp_path: Path) -> None:
    settings = NotifySettings(
        whatsapp_base_url=loopback.url,
        sms_gateway_url=loopback.url,
        smtp_host="127.0.0.1",
        smtp_port=loopback.smtp_port,
        smtp_tls="none",
        local_secrets_dir=tmp_path / "secrets",
    )
    accounts = settings.provider_accounts()
    async with (
        whatsapp_client(accounts.whatsapp) as whatsapp,
        sms_client(accounts.sms) as sms,
    ):
        providers = ChannelProviders(
            whatsapp=WhatsAppCloudProvider(whatsapp, accounts.whatsapp),
            sms=SmsGatewayProvider(sms),
            email=SmtpEmailProvider(accounts.smtp),
        )
        for message in (notification(), sms_message("evt-2:citizen"), email_message()):
            await providers.send(message)

    assert [(m.channel, m.to) for m in loopback.sink.received] == [
        (DeliveryChannel.WHATSAPP, MOBILE),
        (DeliveryChannel.SMS, MOBILE),
        (DeliveryChannel.EMAIL, "verifikator@dukcapil.example.go.id"),
    ]


def test_outside_production_the_providers_default_to_the_loopback_ones(tmp_path: Path) -> None:
    accounts = NotifySettings(local_secrets_dir=tmp_path / "secrets").provider_accounts()

    assert accounts.whatsapp.base_url == "https://graph.facebook.com"
    assert accounts.whatsapp.access_token
    assert accounts.sms.url == "http://127.0.0.1:8009"
    assert (accounts.smtp.host, accounts.smtp.port, accounts.smtp.tls) == (
        "127.0.0.1",
        8025,
        "none",
    )


@pytest.mark.parametrize(("tls", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_a_configured_smtp_server_gets_the_port_of_its_tls_mode(
    tls: str, port: int, tmp_path: Path
) -> None:
    settings = NotifySettings.model_validate(
        {"smtp_host": "smtp.example", "smtp_tls": tls, "local_secrets_dir": tmp_path / "s"}
    )

    assert settings.provider_accounts().smtp.port == port


@pytest.mark.parametrize("value", [b"\xb2", b"\xd9\xa3", b"9" * 40, b"-5", b"1.5"])
def test_a_retry_after_that_is_no_ascii_delay_or_date_is_unreadable(value: bytes) -> None:
    response = httpx.Response(429, headers=[(b"Retry-After", value)])

    assert retry_after(response, lambda: NOW) is None
