"""Fetching a citizen's photo or file from the Cloud API: the two calls, the size limit, and
every failure turned into `MediaUnavailable`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import httpx
import pytest

from services.intake.adapters.whatsapp_media import WhatsAppMedia
from services.intake.service_layer.ports import MediaTooLarge, MediaUnavailable

GRAPH = "https://graph.example/v21.0"
DOWNLOAD = "https://lookaside.example/whatsapp_business/attachments/?mid=1481960382637145"
TOKEN = "access-token"
CONTENT = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8

Handler = Callable[[httpx.Request], httpx.Response]


def graph(
    *,
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
        if str(request.url) == f"{GRAPH}/1481960382637145":
            body = {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": "image/jpeg",
                "sha256": sha256 or hashlib.sha256(content).hexdigest(),
                "file_size": str(size),
                "id": "1481960382637145",
            }
            return httpx.Response(locate_status, content=json.dumps(body).encode())
        if str(request.url) == DOWNLOAD:
            return httpx.Response(download_status, content=content)
        return httpx.Response(404)

    return handle


async def fetch(
    handler: Handler, media_id: str = "1481960382637145", max_bytes: int = 4096
) -> bytes:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        media = WhatsAppMedia(client, graph_url=GRAPH + "/", access_token=TOKEN, total_timeout_s=5)
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
