"""Reading what the backend holds once the run settled: the services' databases, the audit log
and its alerts, the message sink, the dead-letter topics, and the offline verifier's verdict."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from benchmarks.fault_harness.books import (
    Alert,
    AuditEntry,
    Notification,
    Records,
    Refused,
    SinkMessage,
)
from benchmarks.fault_harness.ledger import Ledger, Unanswered
from devstack.paths import REPO_ROOT
from devstack.stack import SERVICES, Stack
from services.notify.domain.notification import UNSETTLED
from shared.events.topics import dead_letter_topic
from shared.mongo import Document

ALERTS_PAGE = 200
ENTRIES_PAGE = 200
"""Audit reads a page's entries one lookup each (FerretDB serves no range on `_id` from its
index), so a page of the largest size may outlast its database deadline on a busy machine."""
VERIFIER_TIMEOUT_S = 600.0
KAFKA_TIMEOUT_S = 30.0
READ_TRIES = 60


async def get(http: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response:
    """A read that waits out an overloaded service's 503s, as its Retry-After asks."""
    for _ in range(READ_TRIES):
        response = await http.get(url, **kwargs)
        if response.status_code not in (429, 503):
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    response.raise_for_status()
    return response


def auditor(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.mint_token('auditor', subject='auditor-harness')}"}


async def audit_entries(http: httpx.AsyncClient, stack: Stack) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    after = 0
    while True:
        page = await get(
            http,
            f"{stack.service_url('audit')}/v1/audit/entries",
            params={"after_sequence": after, "limit": ENTRIES_PAGE},
            headers=auditor(stack),
        )
        body = page.json()
        entries += [
            AuditEntry(entry["event_id"], entry["event_type"], entry["subject"])
            for entry in body["entries"]
        ]
        if body["next_after_sequence"] is None:
            return entries
        after = body["next_after_sequence"]


async def alerts(http: httpx.AsyncClient, stack: Stack) -> list[Alert]:
    found: list[Alert] = []
    offset: int | None = 0
    while offset is not None:
        page = await get(
            http,
            f"{stack.service_url('audit')}/v1/audit/alerts",
            params={"offset": offset, "limit": ALERTS_PAGE},
            headers=auditor(stack),
        )
        body = page.json()
        found += [
            Alert(
                alert["alert_id"],
                alert["rule"],
                alert["about"],
                tuple(alert["officers"]),
                datetime.fromisoformat(alert["occurred_at"]),
            )
            for alert in body["alerts"]
        ]
        offset = body["next_offset"]
    return found


async def sink_messages(http: httpx.AsyncClient, stack: Stack) -> list[SinkMessage]:
    response = await get(http, f"{stack.message_sink_url}/v1/received")
    return [SinkMessage(m["channel"], m["reference"]) for m in response.json()]


async def unsettled_notifications(stack: Stack) -> int:
    """Messages notify still has to send or settle by now."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongo_url, tz_aware=True)
    try:
        return await client["adminduk_notify"]["notifications"].count_documents(
            {
                "status": {"$in": list(UNSETTLED)},
                "next_attempt_at": {"$lte": datetime.now(UTC)},
            }
        )
    finally:
        await client.close()


async def stored(
    stack: Stack,
) -> tuple[dict[str, str], dict[str, str], set[str], list[Notification]]:
    """Intake's requests with their channel and with their tracking number, processing's cases,
    notify's messages."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongo_url, tz_aware=True)
    now = datetime.now(UTC)
    try:
        requests: dict[str, str] = {}
        numbers: dict[str, str] = {}
        async for doc in client["adminduk_intake"]["requests"].find(
            {}, {"submitted_by": 1, "tracking_number": 1}
        ):
            requests[str(doc["_id"])] = str(doc["submitted_by"]["channel"]).upper()
            numbers[str(doc["_id"])] = str(doc["tracking_number"])
        cases = {
            str(doc["_id"])
            async for doc in client["adminduk_processing"]["cases"].find({}, {"_id": 1})
        }
        notifications = [
            Notification(
                str(doc["_id"]),
                doc["channel"],
                doc["status"],
                tuple(item["channel"] for item in doc.get("tried", [])),
                due=doc["next_attempt_at"] <= now,
                last_error=str(doc.get("last_error", "")),
            )
            async for doc in client["adminduk_notify"]["notifications"].find(
                {}, {"channel": 1, "status": 1, "tried": 1, "next_attempt_at": 1, "last_error": 1}
            )
        ]
    finally:
        await client.close()
    return requests, numbers, cases, notifications


async def dead_letters(stack: Stack) -> dict[str, list[str]]:
    """The error header of every entry of each consumer group's dead-letter topic."""
    consumer = AIOKafkaConsumer(
        **stack.kafka_access().client_options(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    found: dict[str, list[str]] = {}
    try:
        topics = await consumer.topics()
        for group in SERVICES:
            name = dead_letter_topic(group).name
            if name not in topics:
                continue
            partition = TopicPartition(name, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            errors: list[str] = []
            while await consumer.position(partition) < end:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), KAFKA_TIMEOUT_S)
                for record in batch.get(partition, []):
                    headers = dict(record.headers)
                    errors.append(headers.get("error", b"").decode(errors="replace"))
            if errors:
                found[name] = errors
    finally:
        await consumer.stop()
    return found


async def verify(http: httpx.AsyncClient, stack: Stack) -> tuple[int, str]:
    """The offline verifier over the whole log, trusting only the key."""
    headers = auditor(stack)
    key = await get(http, f"{stack.service_url('audit')}/v1/audit/key", headers=headers)
    token = headers["Authorization"].removeprefix("Bearer ")
    command = [
        sys.executable,
        "-m",
        "services.audit.verifier",
        "--key",
        key.text.strip(),
        "--url",
        stack.service_url("audit"),
        "--token",
        token,
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=VERIFIER_TIMEOUT_S,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


async def records(
    http: httpx.AsyncClient,
    stack: Stack,
    ledger: Ledger,
    retried: list[tuple[Unanswered, str, str | None]],
) -> Records:
    requests, tracking_numbers, cases, notifications = await stored(stack)
    accepted = set(ledger.accepted)
    refused: list[Refused] = []
    for sent, status, request_id in retried:
        refused.append(Refused(sent.key, sent.first, status, request_id, sent.first_error))
        if request_id is not None:
            accepted.add(request_id)
    verifier_exit, verifier_output = await verify(http, stack)
    return Records(
        accepted=accepted,
        chat_submissions=ledger.chat_submissions,
        refused=refused,
        invalid=list(ledger.invalid),
        steps=list(ledger.steps),
        intake_requests=requests,
        tracking_numbers=tracking_numbers,
        cases=cases,
        audit=await audit_entries(http, stack),
        notifications=notifications,
        sink=await sink_messages(http, stack),
        alerts=await alerts(http, stack),
        planted=list(ledger.planted),
        dead_letters=await dead_letters(stack),
        verifier_exit=verifier_exit,
        verifier_output=verifier_output,
    )


def summary(records: Records) -> dict[str, Any]:
    return {
        "accepted": len(records.accepted),
        "chat_submissions": records.chat_submissions,
        "refused_then_retried": len(records.refused),
        "officer_steps": len(records.steps),
        "intake_requests": len(records.intake_requests),
        "invalid_refused": sum(
            1 for sent in records.invalid if sent.status.isdigit() and 400 <= int(sent.status) < 500
        ),
        "invalid_sent": len(records.invalid),
        "cases": len(records.cases),
        "audit_entries": len(records.audit),
        "notifications": len(records.notifications),
        "messages_at_providers": len(records.sink),
        "alerts": len(records.alerts),
        "planted": len(records.planted),
        "dead_letters": sum(len(errors) for errors in records.dead_letters.values()),
        "verifier_exit": records.verifier_exit,
    }
