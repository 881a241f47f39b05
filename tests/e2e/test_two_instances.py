"""Two instances of every service on the same engines and consumer groups, each call sent to one
or the other, and the same call to both at once: a mixed journey (submissions from the app and by
SMS, documents, claim-next by two officers at once, steps to issue, notifications, a letter whose
disposition escalates, an illegal-fee alert) ends with each effect made exactly once, and the
audit log, written and signed by both audit instances, verifies.

The second instances join the session's single ones for this module only."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.stack import SERVICES, Stack, instance_name
from services.intake.conversations.routes import SMS_WEBHOOK_PATH as WEBHOOK_PATH
from shared.events.models.cases import CaseClaimed, CaseOpened
from shared.events.models.complaints import ComplaintFiled
from shared.events.models.letters import DispositionEscalated, LetterDisposed, LetterRegistered
from shared.events.models.requests import RequestSubmitted
from shared.signatures import timestamped_signature
from tests.builders import nik
from tests.e2e.conftest import (
    SUBMISSION,
    TINY_PDF,
    audit_entries,
    auditor,
    sink_messages,
)
from tests.polling import eventually
from tests.unit.audit.test_audit_stream_sse import parse_events

Tokens = Callable[..., dict[str, str]]
INSTANCES = (1, 2)
APP_REQUESTS = 6
ISSUED = 2


@pytest.fixture(scope="module")
def pair(backend: Stack) -> Iterator[Stack]:
    """The session's stack with a second instance of every service, stopped after the module."""
    second = [instance_name(name, 2) for name in SERVICES]
    try:
        for name in SERVICES:
            backend.start_instance(name, 2)
        yield backend
    finally:
        backend.stop(second)


class Calls:
    """Each call of the journey goes to the next instance in turn, as a balancer would send it."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack, self.http = stack, http
        self._turn = {name: itertools.cycle(INSTANCES) for name in SERVICES}

    def url(self, service: str, index: int | None = None) -> str:
        return self.stack.instance_url(service, index or next(self._turn[service]))

    async def both(
        self, service: str, method: str, path: str, **kwargs: Any
    ) -> list[httpx.Response]:
        """The same call sent to both instances at once, as a client retrying elsewhere."""
        return list(
            await asyncio.gather(
                *(
                    self.http.request(method, f"{self.url(service, i)}{path}", **kwargs)
                    for i in INSTANCES
                )
            )
        )


@pytest.fixture
async def calls(pair: Stack) -> AsyncIterator[Calls]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Calls(pair, http)


def sms_delivery(stack: Stack, message_id: str, sender: str, text: str) -> dict[str, Any]:
    """An SMS gateway's delivery, signed as the gateway signs it."""
    body = json.dumps({"message_id": message_id, "from": sender, "text": text}).encode()
    timestamp = str(int(time.time()))
    secret = stack.service_secret("INTAKE_SMS_WEBHOOK_SECRET").encode()
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Sms-Timestamp": timestamp,
            "X-Sms-Signature": timestamped_signature(secret, timestamp, body),
        },
    }


async def test_a_mixed_journey_on_two_instances_makes_each_effect_once(
    calls: Calls, tokens: Tokens
) -> None:
    stack, http = calls.stack, calls.http
    point = f"MPP_{uuid.uuid4().hex[:8].upper()}"

    def officer(role: str, subject: str | None = None) -> dict[str, str]:
        return tokens(role, service_point=point, subject=subject or f"{role}-{point}")

    counter = officer("counter_officer")
    start = len(await audit_entries(http, stack))

    # Submissions at the counter, each sent to both intakes at once under one Idempotency-Key.
    phones = [f"0857{uuid.uuid4().int % 10**8:08d}" for _ in range(APP_REQUESTS)]
    requests: list[dict[str, Any]] = []
    for phone in phones:
        answers = await calls.both(
            "intake",
            "POST",
            "/v1/requests",
            json=SUBMISSION | {"phone": phone},
            headers=counter | {"Idempotency-Key": uuid.uuid4().hex},
        )
        assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
        assert len({a.json()["request_id"] for a in answers}) == 1
        requests.append(answers[0].json())
    request_ids = [r["request_id"] for r in requests]
    for request_id in request_ids:
        missing = await http.get(f"{calls.url('intake')}/v1/requests/{request_id}", headers=counter)
        for requirement in missing.json()["missing_documents"]:
            sent = await http.post(
                f"{calls.url('intake')}/v1/requests/{request_id}/documents",
                params={"requirement": requirement},
                content=TINY_PDF,
                headers=counter | {"Content-Type": "application/pdf"},
            )
            assert sent.status_code == 201, sent.text

    # One SMS application, delivered by the gateway to both intakes at once; its NIK is its own,
    # since one NIK has one open KTP_CETAK application and other tests apply with theirs.
    sms_phone = f"+62857{uuid.uuid4().int % 10**8:08d}"
    sms_nik = nik(8000 + uuid.uuid4().int % 1999)
    delivery = sms_delivery(
        stack,
        f"sms-two-{uuid.uuid4().hex[:8]}",
        sms_phone,
        f"DAFTAR KTP_CETAK {sms_nik} Siti Aminah#3516090101080001#HILANG",
    )
    assert [
        a.status_code for a in await calls.both("intake", "POST", WEBHOOK_PATH, **delivery)
    ] == [
        200,
        200,
    ]

    # Two verifiers take work at once, each from its own processing instance.
    claimed: dict[str, list[str]] = {"verifier-a": [], "verifier-b": []}

    async def take_all(subject: str, index: int) -> None:
        deadline = asyncio.get_running_loop().time() + 60
        while sum(map(len, claimed.values())) < APP_REQUESTS:
            assert asyncio.get_running_loop().time() < deadline, claimed
            response = await http.post(
                f"{calls.url('processing', index)}/v1/queues/claim-next",
                headers=officer("verifier", subject),
            )
            if response.status_code == 200:
                claimed[subject].append(response.json()["request_id"])
            else:
                await asyncio.sleep(0.2)

    await asyncio.gather(take_all("verifier-a", 1), take_all("verifier-b", 2))
    everyone = claimed["verifier-a"] + claimed["verifier-b"]
    assert sorted(everyone) == sorted(request_ids), claimed

    # Steps to issue for some cases, each by its holder, on alternating instances.
    holder = {rid: subject for subject, taken in claimed.items() for rid in taken}
    for request_id in request_ids[:ISSUED]:
        cases = f"{calls.url('processing')}/v1/cases/{request_id}"

        async def verified(request_id: str = request_id) -> httpx.Response | None:
            response = await http.post(
                f"{calls.url('processing')}/v1/cases/{request_id}/verify",
                headers=officer("verifier", holder[request_id]),
            )
            return None if response.status_code == 409 else response

        assert (await eventually(verified, what="the documents at processing")).status_code == 200
        issue = {"document_number": f"3516-KK-{request_id[-6:]}", "collection": "VILLAGE"}
        for role, stage, step, body in (
            ("signer", "APPROVAL", "approve", None),
            ("operator", "ISSUANCE", "issue", issue),
        ):

            async def next_claimed(role: str = role, stage: str = stage) -> httpx.Response | None:
                response = await http.post(
                    f"{calls.url('processing')}/v1/queues/claim-next",
                    params={"stage": stage},
                    headers=officer(role),
                )
                return response if response.status_code == 200 else None

            taken = await eventually(next_claimed, what=f"the case in the {role}'s queue")
            assert taken.json()["request_id"] == request_id, (taken.json(), request_ids, role)
            done = await http.post(
                f"{calls.url('processing')}/v1/cases/{request_id}/{step}",
                json=body,
                headers=officer(role),
            )
            assert done.status_code == 200, done.text
        assert (await http.get(cases, headers=officer("operator"))).json()["state"] == "ISSUED"

    # An illegal-fee complaint about a claimed request, filed at the second intake.
    complaint = await http.post(
        f"{calls.url('intake', 2)}/v1/complaints",
        json={
            "category": "ILLEGAL_FEE",
            "description": "Petugas meminta uang agar KK cepat jadi.",
            "tracking_number": requests[-1]["tracking_number"],
            "anonymous": True,
        },
    )
    assert complaint.status_code == 201, complaint.text

    # A letter disposed with a deadline seconds away: both processings keep its timers.
    clerk = tokens("letter_clerk", service_point="KANTOR_DINAS", subject=f"clerk-{point}")
    head = tokens("signer", service_point="KANTOR_DINAS", subject=f"kadis-{point}")
    registered = await http.post(
        f"{calls.url('processing')}/v1/letters",
        json={
            "sender": "Polres Mojokerto",
            "reference_number": f"B/{point}/2025",
            "letter_date": "2025-03-03",
            "regarding": "Permintaan data kependudukan",
            "classification": "470",
            "urgency": "segera",
            "confidentiality": "biasa",
        },
        headers=clerk,
    )
    assert registered.status_code == 201, registered.text
    letter_id = registered.json()["letter_id"]
    due_at = (datetime.now(UTC) + timedelta(seconds=10)).replace(microsecond=0)
    disposed = await http.post(
        f"{calls.url('processing')}/v1/letters/{letter_id}/dispositions",
        json={
            "to": [{"official": f"kabid-{point}", "unit": "KANTOR_DINAS"}],
            "instruction": "TINDAK_LANJUTI",
            "due_at": due_at.isoformat(),
        },
        headers=head,
    )
    assert disposed.status_code == 200, disposed.text

    # Then the books: every effect once.
    alerts_url = f"{calls.url('audit')}/v1/audit/alerts"
    auditor_headers = auditor(stack)

    async def alerts() -> list[dict[str, Any]] | None:
        response = await http.get(
            alerts_url, params={"rule": "ILLEGAL_FEE", "limit": 200}, headers=auditor_headers
        )
        found = [a for a in response.json()["alerts"] if a["about"] == request_ids[-1]]
        return found or None

    await eventually(alerts, what="the illegal-fee alert")

    async def escalated() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, stack, subject=letter_id)
        types = [e["event_type"] for e in entries]
        return entries if DispositionEscalated.event_type in types else None

    letter_entries = await eventually(escalated, timeout_s=90, what="the escalation")
    await asyncio.sleep(5)  # time for a second instance's doubles, if any, to arrive

    entries = await audit_entries(http, stack)
    assert [e["sequence"] for e in entries] == list(range(1, len(entries) + 1))
    doubled = [i for i, n in Counter(e["event_id"] for e in entries).items() if n > 1]
    assert doubled == []
    ours = entries[start:]
    by_subject: dict[str, Counter[str]] = {}
    for entry in ours:
        by_subject.setdefault(entry["subject"], Counter())[entry["event_type"]] += 1
    for request_id in request_ids:
        logged = by_subject[request_id]
        assert logged[RequestSubmitted.event_type] == logged[CaseOpened.event_type] == 1, logged
        assert logged[CaseClaimed.event_type] == (3 if request_id in request_ids[:ISSUED] else 1)
    sms_requests = [
        e
        for e in ours
        if e["event_type"] == RequestSubmitted.event_type
        and e["data"]["actor"]["channel"] == "sms"
        and e["data"]["service_code"] == "KTP_CETAK"
    ]
    assert len(sms_requests) == 1, sms_requests
    assert by_subject[sms_requests[0]["subject"]][CaseOpened.event_type] == 1
    complaints = [e for e in ours if e["event_type"] == ComplaintFiled.event_type]
    assert len(complaints) == 1
    assert [a["about"] for a in (await alerts() or [])] == [request_ids[-1]]
    letter_types = Counter(e["event_type"] for e in letter_entries)
    assert letter_types[LetterRegistered.event_type] == letter_types[LetterDisposed.event_type] == 1
    assert letter_types[DispositionEscalated.event_type] == 1, letter_types

    messages = [
        m
        for m in await sink_messages(http, stack)
        if m["to"].endswith(tuple(phone[1:] for phone in phones)) or m["to"] == sms_phone
    ]
    assert messages, "no message to the journey's citizens"
    delivered = Counter((m["reference"], m["to"], m["channel"]) for m in messages)
    assert [key for key, times in delivered.items() if times > 1] == []
    assert len([m for m in messages if m["to"] == sms_phone and "No lacak" in m["text"]]) == 1
    for phone in phones:
        assert any(m["to"].endswith(phone[1:]) for m in messages), phone

    for index in INSTANCES:
        followed = await stream_from(calls, index, first=start, last=len(entries) - 1)
        assert followed == [e["event_id"] for e in ours], f"audit-{index}'s stream"
    await audit_verifies(calls)


async def stream_from(calls: Calls, index: int, *, first: int, last: int) -> list[str]:
    """The event ids one audit instance's live stream gives from index `first` to `last`,
    whichever instance appended them."""
    url = f"{calls.url('audit', index)}/v1/audit/stream"
    headers = auditor(calls.stack)
    ids: list[str] = []
    text = ""
    async with (
        asyncio.timeout(60),
        calls.http.stream("GET", url, params={"from": first}, headers=headers) as response,
    ):
        assert response.status_code == 200
        async for chunk in response.aiter_text():
            text += chunk
            complete, _, text = text.rpartition("\n\n")
            for event in parse_events(complete + "\n\n"):
                ids.append(json.loads(event["data"])["event_id"])
                if int(event["id"]) >= last:
                    return ids
    raise AssertionError(f"audit-{index}'s stream ended")


async def audit_verifies(calls: Calls) -> None:
    """Both audit instances find the log intact, and so does the offline verifier."""
    stack, http = calls.stack, calls.http
    headers = auditor(stack)
    for index in INSTANCES:
        audit = calls.url("audit", index)
        verification = (await http.get(f"{audit}/v1/audit/verify", headers=headers)).json()
        assert verification["valid"] is True, verification["findings"]
    audit = calls.url("audit", 1)
    key = (await http.get(f"{audit}/v1/audit/key", headers=headers)).text.strip()
    verifier = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "services.audit.verifier", "--key", key],
        *["--url", audit, "--token", stack.mint_token("auditor")],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(verifier.communicate(), timeout=120)
    assert verifier.returncode == 0, output.decode()
