"""One open application per NIK and service on the running services: a citizen who applies for
a KTP_CETAK twice by the API and twice by SMS has one request, and each later try is answered
with its tracking number."""

from __future__ import annotations

import json
import time

import httpx
from pymongo.database import Database

from devstack.stack import Stack
from services.intake.conversations.routes import SMS_WEBHOOK_PATH as WEBHOOK_PATH
from shared.gsm7 import segments
from shared.mongo import Document
from shared.signatures import timestamped_signature
from tests.e2e.conftest import sink_messages
from tests.polling import eventually

PHONE = "+6285712347701"
FIELDS = {"family_card_number": "3516090101080001", "reason": "HILANG"}
FORM = {
    "service_code": "KTP_CETAK",
    "nik": "3516091204807701",
    "name": "Siti Aminah",
    "phone": "085712347701",
    "preferred_channel": "SMS",
    "fields": FIELDS,
}
APPLY = "DAFTAR KTP_CETAK 3516091204807701 Siti Aminah#3516090101080001#"


async def deliver_sms(http: httpx.AsyncClient, stack: Stack, message_id: str, text: str) -> None:
    body = json.dumps({"message_id": message_id, "from": PHONE, "text": text}).encode()
    timestamp = str(int(time.time()))
    secret = stack.service_secret("INTAKE_SMS_WEBHOOK_SECRET").encode()
    response = await http.post(
        f"{stack.service_url('intake')}{WEBHOOK_PATH}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Sms-Timestamp": timestamp,
            "X-Sms-Signature": timestamped_signature(secret, timestamp, body),
        },
    )
    assert response.status_code == 200, response.text


async def sms_answers(http: httpx.AsyncClient, stack: Stack, count: int) -> list[str]:
    async def sent() -> list[str] | None:
        texts = [
            message["text"]
            for message in await sink_messages(http, stack)
            if message["to"] == PHONE and ":reply:" in message["reference"]
        ]
        return texts if len(texts) >= count else None

    return await eventually(sent, what=f"{count} SMS answers")


async def test_four_applications_by_api_and_sms_make_one_request(
    backend: Stack, http: httpx.AsyncClient, intake_db: Database[Document]
) -> None:
    requests = f"{backend.service_url('intake')}/v1/requests"
    before = intake_db["requests"].count_documents({"service_code": "KTP_CETAK"})
    key = {"Idempotency-Key": "open-applications-e2e-1"}

    first = await http.post(requests, json=FORM, headers=key)
    retried = await http.post(requests, json=FORM, headers=key)
    second = await http.post(requests, json=FORM | {"fields": FIELDS | {"reason": "RUSAK"}})
    await deliver_sms(http, backend, "open-e2e-1", APPLY + "HILANG")
    await deliver_sms(http, backend, "open-e2e-2", APPLY + "RUSAK")

    assert first.status_code == 202, first.text
    number = first.json()["tracking_number"]
    assert retried.status_code == 200
    assert retried.json()["request_id"] == first.json()["request_id"]
    assert second.status_code == 409
    assert second.json()["error"] == "already_open"
    assert f"*****{number[-3:]}" in second.json()["message"], "a form's phone proves nothing"
    answers = await sms_answers(http, backend, 2)
    assert all(f"no lacak {number}" in answer for answer in answers), answers
    assert all(segments(answer) == 1 for answer in answers)
    assert intake_db["requests"].count_documents({"service_code": "KTP_CETAK"}) == before + 1
