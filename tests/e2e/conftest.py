"""The four services as separate processes on the session's engines, with a local message sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from devstack.stack import SERVICES, Stack

T = TypeVar("T")

SUBMISSION = {
    "service_code": "KK_BARU",
    "nik": "3516091204800001",
    "name": "Siti Aminah",
    "phone": "081234567890",
    "preferred_channel": "WHATSAPP",
}


@pytest.fixture(scope="session")
def backend(stack: Stack) -> Iterator[Stack]:
    stack.start_message_sink()
    try:
        for name in SERVICES:
            stack.start_service(name)
        yield stack
    finally:
        stack.stop([*SERVICES, "message_sink"])


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout_s: float = 30.0, what: str
) -> T:
    """Polls `probe` until it returns something truthy; fails with `what` after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


async def audit_entries(
    http: httpx.AsyncClient, stack: Stack, subject: str | None = None
) -> list[dict[str, Any]]:
    """Every audit entry (of one subject, if given), following the pages."""
    entries: list[dict[str, Any]] = []
    after = 0
    while True:
        params: dict[str, Any] = {"after_sequence": after, "limit": 1000}
        if subject is not None:
            params["subject"] = subject
        response = await http.get(f"{stack.service_url('audit')}/v1/audit/entries", params=params)
        response.raise_for_status()
        page = response.json()
        entries += page["entries"]
        if page["next_after_sequence"] is None:
            return entries
        after = page["next_after_sequence"]


async def sink_messages(http: httpx.AsyncClient, stack: Stack) -> list[dict[str, Any]]:
    response = await http.get(f"{stack.message_sink_url}/v1/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()
    return messages
