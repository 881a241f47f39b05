"""Staff notices end to end: a disposition left unread past its deadline reminds its holder and
tells the head of office who disposed it, by e-mail to their staff directory entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from devstack.stack import Stack
from tests.polling import eventually

UNIT = "KANTOR_DINAS"
HEAD_EMAIL = "signer@dispendukcapil.example"
HOLDER_EMAIL = "verifier@dispendukcapil.example"
"""The sample staff directory's entries for `signer-test` and `verifier-test`."""
LETTER: dict[str, Any] = {
    "sender": "Kecamatan Sooko",
    "reference_number": "470/12/416.502/2025",
    "letter_date": "2025-03-03",
    "regarding": "Undangan rapat koordinasi",
    "classification": "005",
    "urgency": "sangat_segera",
    "confidentiality": "biasa",
}
Tokens = Callable[..., dict[str, str]]


async def emails(http: httpx.AsyncClient, stack: Stack) -> list[dict[str, Any]]:
    response = await http.get(f"{stack.message_sink_url}/v1/received", params={"channel": "EMAIL"})
    response.raise_for_status()
    received: list[dict[str, Any]] = response.json()
    return received


async def test_a_disposition_left_past_its_deadline_reminds_the_holder_and_tells_the_head(
    backend: Stack, http: httpx.AsyncClient, tokens: Tokens
) -> None:
    letters = f"{backend.service_url('processing')}/v1/letters"
    clerk = tokens("letter_clerk", service_point=UNIT)
    head = tokens("signer", service_point=UNIT)
    registered = await http.post(letters, json=LETTER, headers=clerk)
    assert registered.status_code == 201, registered.text
    letter_id = registered.json()["letter_id"]
    scan = await http.put(f"{letters}/{letter_id}/scan", content=b"%PDF-1.7\n%\n", headers=clerk)
    assert scan.status_code == 200, scan.text

    due_at = (datetime.now(UTC) + timedelta(seconds=15)).replace(microsecond=0)
    disposed = await http.post(
        f"{letters}/{letter_id}/dispositions",
        json={
            "to": [{"official": "verifier-test", "unit": UNIT}],
            "instruction": "TINDAK_LANJUTI",
            "due_at": due_at.isoformat(),
        },
        headers=head,
    )
    assert disposed.status_code == 200, disposed.text

    async def notices() -> dict[str, list[dict[str, Any]]] | None:
        about = [m for m in await emails(http, backend) if letter_id in m["text"]]
        by_address = {
            address: [m for m in about if m["to"] == address]
            for address in (HEAD_EMAIL, HOLDER_EMAIL)
        }
        return by_address if all(by_address.values()) else None

    found = await eventually(notices, timeout_s=90, what="the disposition's staff notices")

    [escalation] = found[HEAD_EMAIL]
    assert escalation["subject"] == f"Disposisi D1 surat {letter_id} melewati batas waktu"
    assert escalation["text"].startswith("Yth. Drs. Bambang Wijaya,")
    assert "kepada Dewi Lestari melewati batas waktu" in escalation["text"]
    assert all(m["text"].startswith("Yth. Dewi Lestari,") for m in found[HOLDER_EMAIL])
    assert {m["subject"] for m in found[HOLDER_EMAIL]} <= {
        f"Disposisi D1 surat {letter_id} belum dibaca",
        f"Disposisi D1 surat {letter_id} segera jatuh tempo",
    }
