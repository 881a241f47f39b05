"""The four services as separate processes on the session's engines, with the loopback message
providers (`devstack/message_sink.py`) standing in for WhatsApp, the SMS gateway and SMTP."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.database import Database

from devstack.stack import SERVICES, Stack
from services.intake.config import IntakeSettings
from shared.calendar import JAKARTA
from shared.mongo import Document
from tests.documents import PDF
from tests.polling import eventually

SUBMISSION: dict[str, Any] = {
    "service_code": "KK_BARU",
    "nik": "3516091204800001",
    "name": "Siti Aminah",
    "phone": "081234567890",
    "preferred_channel": "WHATSAPP",
    "fields": {"reason": "MENIKAH", "address": "Jl. Majapahit 12, Sooko"},
    "consent": True,
}


@pytest.fixture(scope="session")
def backend(stack: Stack) -> Iterator[Stack]:
    stack.start_message_sink()
    try:
        stack.start_issuer()
        for name in SERVICES:
            stack.start_service(name)
        yield stack
    finally:
        stack.stop([*SERVICES, "issuer", "message_sink"])


@pytest.fixture(scope="session")
def tokens(backend: Stack) -> Callable[..., dict[str, str]]:
    """`tokens(role, **claims)` is an Authorization header with a fresh token from the issuer."""

    def bearer(role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {backend.mint_token(role, **claims)}"}

    return bearer


@pytest.fixture
def intake_db(backend: Stack) -> Iterator[Database[Document]]:
    """Intake's database, to check what a call stored or did not."""
    client: MongoClient[Document] = MongoClient(backend.mongo_url, tz_aware=True)
    try:
        yield client["adminduk_intake"]
    finally:
        client.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


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
        response = await http.get(
            f"{stack.service_url('audit')}/v1/audit/entries",
            params=params,
            headers=auditor(stack),
        )
        response.raise_for_status()
        page = response.json()
        entries += page["entries"]
        if page["next_after_sequence"] is None:
            return entries
        after = page["next_after_sequence"]


async def sink_messages(http: httpx.AsyncClient, stack: Stack) -> list[dict[str, Any]]:
    """Every message the loopback providers took, in arrival order: `channel`, `to` (E.164 for
    phones), `text` (a WhatsApp template's approved text filled in), `template`, `subject`,
    `reference` (the notification's idempotency key) and `message_id`."""
    response = await http.get(f"{stack.message_sink_url}/v1/received")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()
    return messages


async def messages_settled(
    http: httpx.AsyncClient, stack: Stack, phone: str
) -> list[dict[str, Any]]:
    """Every message the message sink took for `phone` (E.164), once nothing more came for five
    seconds: time enough for notify, which sends each message as soon as it takes its event."""
    messages: list[dict[str, Any]] = []
    quiet_since = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - quiet_since < 5:
        now = [m for m in await sink_messages(http, stack) if m["to"] == phone]
        if now != messages:
            messages, quiet_since = now, asyncio.get_running_loop().time()
        await asyncio.sleep(0.2)
    return messages


def run_ready(process: subprocess.Popen[bytes], output: Path) -> bool:
    """Whether `python -m devstack run`, writing to `output`, printed its banner; fails with what
    it wrote if it ended first."""
    text = output.read_text()
    assert process.poll() is None, text
    return "Press Ctrl-C to stop." in text


def last_bookable_day() -> date:
    """The last working day visits may be booked on: far from the days `test_appointments`
    fills, so that a test booking by chat takes none of their places."""
    settings = IntakeSettings()
    calendar = settings.calendar()
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    return next(
        today + timedelta(days=offset)
        for offset in range(settings.booking_horizon_days, 0, -1)
        if calendar.is_working_day(today + timedelta(days=offset))
    )


def auditor(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.mint_token('auditor')}"}


_CITIZEN_TOKENS: dict[str, tuple[str, float]] = {}


async def sign_in(http: httpx.AsyncClient, stack: Stack, phone: str) -> dict[str, str]:
    """Signs a citizen in as they would: a code by SMS through notify, read at the message sink.

    Tokens are kept for the session, since a phone gets a new code only once a minute.
    """
    loop = asyncio.get_running_loop()
    cached = _CITIZEN_TOKENS.get(phone)
    if cached is None or cached[1] < loop.time() + 60:
        intake = stack.service_url("intake")
        before = len(await codes_sent(http, stack, phone))
        asked = await http.post(f"{intake}/v1/auth/otp", json={"phone": phone, "channel": "SMS"})
        assert asked.status_code == 202, asked.text

        async def newest_code() -> str | None:
            sent = await codes_sent(http, stack, phone)
            return sent[-1] if len(sent) > before else None

        received = await eventually(newest_code, what="the sign-in code at the message sink")
        verified = await http.post(
            f"{intake}/v1/auth/otp/verify", json={"phone": phone, "code": received}
        )
        assert verified.status_code == 200, verified.text
        body = verified.json()
        _CITIZEN_TOKENS[phone] = (body["access_token"], loop.time() + body["expires_in"])
    return {"Authorization": f"Bearer {_CITIZEN_TOKENS[phone][0]}"}


async def codes_sent(http: httpx.AsyncClient, stack: Stack, phone: str) -> list[str]:
    """The sign-in codes the message sink received for `phone` (E.164), oldest first."""
    return [
        match.group(1)
        for message in await sink_messages(http, stack)
        if message["to"] == phone
        and (match := re.search(r"Kode masuk Adminduk Anda: (\d{6})", message["text"]))
    ]


TINY_PDF = PDF
"""A real one-page PDF of a few hundred bytes: intake keeps only files that open as their type."""


async def upload_documents(
    http: httpx.AsyncClient, stack: Stack, request_id: str, headers: dict[str, str]
) -> dict[str, str]:
    """Sends a tiny valid PDF for each mandatory document the request still misses, as the
    caller of `headers`; returns the documents' ids by requirement."""
    intake = stack.service_url("intake")
    request = await http.get(f"{intake}/v1/requests/{request_id}", headers=headers)
    assert request.status_code == 200, request.text
    sent: dict[str, str] = {}
    for requirement in request.json()["missing_documents"]:
        response = await http.post(
            f"{intake}/v1/requests/{request_id}/documents",
            params={"requirement": requirement},
            content=TINY_PDF,
            headers={**headers, "Content-Type": "application/pdf"},
        )
        assert response.status_code == 201, response.text
        sent[requirement] = response.json()["document_id"]
    return sent
