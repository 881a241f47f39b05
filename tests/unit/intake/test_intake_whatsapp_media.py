"""Fetching a citizen's photo or file from the Cloud API: the two calls, the size limit, and
every failure turned into `MediaUnavailable`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest

from services.intake.config import IntakeSettings
from services.intake.conversations.ports import MediaTooLarge, MediaUnavailable
from services.intake.conversations.whatsapp_media import WhatsAppMedia
from shared.errors import InvalidConfiguration

GRAPH = "https://graph.example/v21.0"
MEDIA_HOST = "lookaside.example"
DOWNLOAD = f"https://{MEDIA_HOST}/whatsapp_business/attachments/?mid=1481960382637145"
TOKEN = "access-token"
CONTENT = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8

Handler = Callable[[httpx.Request], httpx.Response]


def graph(
    *,
    graph_url: str = GRAPH,
    content: bytes = CONTENT,
    url: str = DOWNLOAD,
    file_size: int | str | None = None,
    sha256: str | None = None,
    locate_status: int = 200,
    download_status: int = 200,
    seen: list[httpx.Request] | None = None,
) -> Handler:
    """The Graph API and its media server, answering for media id 1481960382637145 only."""
    size = len(content) if file_size is None else file_size

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401)
        if str(request.url) == f"{graph_url}/1481960382637145":
            body = {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": "image/jpeg",
                "sha256": sha256 or hashlib.sha256(content).hexdigest(),
                "file_size": str(size),
                "id": "1481960382637145",
            }
            return httpx.Response(locate_status, content=json.dumps(body).encode())
        if str(request.url) == url:
            return httpx.Response(download_status, content=content)
        return httpx.Response(404)

    return handle


async def fetch(
    handler: Handler,
    media_id: str = "1481960382637145",
    max_bytes: int = 4096,
    graph_url: str = GRAPH,
) -> bytes:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        media = WhatsAppMedia(
            client,
            graph_url=graph_url + "/",
            access_token=TOKEN,
            total_timeout_s=5,
            media_hosts=frozenset({MEDIA_HOST}),
        )
        return await media.fetch(media_id, max_bytes=max_bytes)


async def test_a_file_is_located_then_downloaded_with_the_token() -> None:
    seen: list[httpx.Request] = []

    content = await fetch(graph(seen=seen))

    assert content == CONTENT
    assert [str(request.url) for request in seen] == [f"{GRAPH}/1481960382637145", DOWNLOAD]


async def test_a_file_announced_too_large_is_not_downloaded() -> None:
    seen: list[httpx.Request] = []

    with pytest.raises(MediaTooLarge):
        await fetch(graph(file_size=10_000_000, seen=seen))

    assert [str(request.url) for request in seen] == [f"{GRAPH}/1481960382637145"]


async def test_a_file_larger_than_announced_is_cut_off_at_the_limit() -> None:
    with pytest.raises(MediaTooLarge):
        await fetch(graph(file_size=10), max_bytes=len(CONTENT) - 1)


@pytest.mark.parametrize(
    "handler",
    [
        graph(locate_status=404),
        graph(download_status=500),
        graph(sha256="0" * 64),
        graph(url="file:///etc/passwd"),
        graph(content=b""),
        lambda request: httpx.Response(200, content=b'{"id": "1"}'),
        lambda request: httpx.Response(200, content=b"not json"),
    ],
    ids=["unknown", "server-error", "hash-mismatch", "not-http", "empty", "no-url", "not-json"],
)
async def test_a_file_the_provider_does_not_give_is_unavailable(handler: Handler) -> None:
    with pytest.raises(MediaUnavailable) as raised:
        await fetch(handler)

    assert not isinstance(raised.value, MediaTooLarge)


async def test_an_unreachable_provider_is_unavailable() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(MediaUnavailable):
        await fetch(unreachable)


async def test_a_malformed_media_id_is_never_sent() -> None:
    seen: list[httpx.Request] = []

    with pytest.raises(MediaUnavailable):
        await fetch(graph(seen=seen), media_id="../me/accounts")

    assert seen == []


@pytest.mark.parametrize(
    "url",
    [
        DOWNLOAD.replace("https://", "http://"),
        DOWNLOAD.replace(MEDIA_HOST, "attacker.example"),
        DOWNLOAD.replace(MEDIA_HOST, f"{MEDIA_HOST}:8443"),
        DOWNLOAD.replace(MEDIA_HOST, f"{MEDIA_HOST}.attacker.example"),
        "http://graph.example/media/1481960382637145",
    ],
    ids=["plain-http", "another-host", "another-port", "look-alike-host", "graph-over-http"],
)
async def test_the_token_goes_to_no_url_but_the_graph_apis_or_https_to_a_media_host(
    url: str,
) -> None:
    seen: list[httpx.Request] = []

    with pytest.raises(MediaUnavailable):
        await fetch(graph(url=url, seen=seen))

    assert [str(request.url) for request in seen] == [f"{GRAPH}/1481960382637145"]


async def test_a_local_graph_stand_in_over_http_serves_its_own_media() -> None:
    """`scripts/run` and the tests point intake at a stand-in on loopback, which has no TLS."""
    local = "http://127.0.0.1:8011/v21.0"
    download = "http://127.0.0.1:8011/media/1481960382637145"

    content = await fetch(graph(graph_url=local, url=download), graph_url=local)

    assert content == CONTENT


async def test_a_graph_api_over_http_is_refused_in_production() -> None:
    secrets = {name: "ab" * 32 for name in IntakeSettings.required_in_production}
    settings = IntakeSettings.model_validate(
        secrets
        | {
            "environment": "production",
            "trusted_proxies": "10.0.0.2",
            "whatsapp_graph_url": "http://graph.example",
        }
    )

    with pytest.raises(InvalidConfiguration, match="INTAKE_WHATSAPP_GRAPH_URL must be https"):
        settings.check_production()
