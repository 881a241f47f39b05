"""Photos and files citizens send on WhatsApp, fetched from the Cloud API (Graph API) with httpx.

A message carries only a media id: `GET {graph_url}/{media id}` with the access token answers
where the file is (`url`, valid a few minutes) and its size and SHA-256; `GET url` with the same
token gives the bytes. The token goes only to the Graph API's own origin or over https to Meta's
media hosts (`lookaside.fbsbx.com`), so a url that names another place, or plain http, is
refused. Both are bounded in time, and the bytes in size: a file is read only up to the
requirement's limit, so an oversized one costs no more than the limit. Every failure is
`MediaUnavailable`, for the conversation to ask the citizen to send the file again.
"""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from services.intake.conversations.ports import MEDIA_ID_PATTERN, MediaTooLarge, MediaUnavailable

_MEDIA_ID = re.compile(MEDIA_ID_PATTERN)
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
META_MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})
"""Where the Cloud API's media urls point (the Graph API answers with one, valid minutes)."""
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def origin(url: httpx.URL) -> Origin:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


class _MediaLocation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    file_size: int | None = None
    sha256: str | None = None


class WhatsAppMedia:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        graph_url: str,
        access_token: str,
        total_timeout_s: float,
        media_hosts: frozenset[str] = META_MEDIA_HOSTS,
    ) -> None:
        self._client = client
        self._graph_url = graph_url.rstrip("/")
        self._media_origins = {origin(httpx.URL(graph_url))} | {
            ("https", host, 443) for host in media_hosts
        }
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._total_timeout_s = total_timeout_s

    async def fetch(self, media_id: str, *, max_bytes: int) -> bytes:
        if _MEDIA_ID.fullmatch(media_id) is None:
            raise MediaUnavailable("malformed media id")
        try:
            async with asyncio.timeout(self._total_timeout_s):
                location = await self._locate(media_id)
                if location.file_size is not None and location.file_size > max_bytes:
                    raise MediaTooLarge(f"media is {location.file_size} bytes")
                content = await self._download(location.url, max_bytes=max_bytes)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise MediaUnavailable(f"media not fetched: {type(exc).__name__}") from exc
        expected = (location.sha256 or "").lower()
        if _HEX_SHA256.fullmatch(expected) and hashlib.sha256(content).hexdigest() != expected:
            raise MediaUnavailable("media does not match its SHA-256")
        return content

    async def _locate(self, media_id: str) -> _MediaLocation:
        response = await self._client.get(f"{self._graph_url}/{media_id}", headers=self._headers)
        if not response.is_success:
            raise MediaUnavailable(f"Graph API answered {response.status_code}")
        try:
            location = _MediaLocation.model_validate_json(response.content)
        except ValidationError:
            raise MediaUnavailable("Graph API answered without a media url") from None
        try:
            url = httpx.URL(location.url)
        except httpx.InvalidURL:
            raise MediaUnavailable("media url is not a url") from None
        if origin(url) not in self._media_origins:
            raise MediaUnavailable(
                f"media url {url.scheme}://{url.host} is neither the Graph API's own origin "
                "nor https to a media host"
            )
        return location

    async def _download(self, url: str, *, max_bytes: int) -> bytes:
        content = bytearray()
        async with self._client.stream("GET", url, headers=self._headers) as response:
            if not response.is_success:
                raise MediaUnavailable(f"media download answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > max_bytes:
                    raise MediaTooLarge(f"media is over {max_bytes} bytes")
        if not content:
            raise MediaUnavailable("media is empty")
        return bytes(content)


def media_client(*, timeout_s: float) -> httpx.AsyncClient:
    """Each connect, read or write waits `timeout_s` at most. Redirects of the media servers are
    followed; httpx does not send the token on to another host."""
    return httpx.AsyncClient(timeout=timeout_s, follow_redirects=True)
