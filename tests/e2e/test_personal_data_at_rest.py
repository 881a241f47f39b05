"""After a citizen's whole journey, their NIK, name, phone number and sign-in code are nowhere in
clear text: not in the databases, not in the logs, not in any Kafka topic, dead letters included.

The scan reads every file the backend wrote: every log, the PostgreSQL cluster under FerretDB
(tables and write-ahead log) and Kafka's log segments. The local engine keeps documents
uncompressed (devstack/ferretdb/tables.sql), and the services' producers do not compress, so clear
text would be found byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from devstack.stack import Stack
from shared.events.models.cases import CaseOpened
from shared.events.models.notifications import NotificationSent
from shared.events.models.requests import RequestSubmitted
from shared.events.topics import CASES, IDENTITY, REQUESTS
from tests.e2e.conftest import audit_entries, codes_sent, sign_in, sink_messages
from tests.polling import eventually

NIK = "3516095508920007"
NAME = "Wulandari Kusumaningtyas"
PHONE_DIGITS = "85799887766"
PERSONAL = {
    "NIK": NIK.encode(),
    "name": NAME.encode(),
    "name (UTF-16)": NAME.encode("utf-16-le"),
    "phone": PHONE_DIGITS.encode(),
}
CLEAR_CODE = re.compile(rb'"code":\s*"\d+"')
"""A sign-in code as an event in clear would hold it; sealed, it reads `"code":"x1.…"`."""
PARTITION_DIR = re.compile(r"^(?P<topic>.+)-\d+$")


def files_under(*roots: Path | None) -> Iterator[Path]:
    for root in roots:
        if root is not None and root.exists():
            yield from (path for path in root.rglob("*") if path.is_file())


def topic_of(path: Path, kafka_logs: Path) -> str | None:
    """The topic whose log segment `path` is, if it is one."""
    if kafka_logs not in path.parents:
        return None
    match = PARTITION_DIR.match(path.relative_to(kafka_logs).parts[0])
    return match.group("topic") if match else None


async def test_personal_data_is_only_where_the_data_map_says(
    backend: Stack, http: httpx.AsyncClient, tokens: Callable[..., dict[str, str]]
) -> None:
    intake = backend.service_url("intake")
    form = {
        "service_code": "KTP_CETAK",
        "nik": NIK,
        "name": NAME,
        "phone": f"0{PHONE_DIGITS}",
        "preferred_channel": "SMS",
        "fields": {"family_card_number": "3516090101080001", "reason": "HILANG"},
        "consent": True,
    }
    operator = tokens("village_operator", village="3516010001")
    submitted = await http.post(f"{intake}/v1/requests", json=form, headers=operator)
    assert submitted.status_code == 202, submitted.text
    request_id = submitted.json()["request_id"]
    citizen = await sign_in(http, backend, f"+62{PHONE_DIGITS}")
    seen = await http.get(f"{intake}/v1/requests/{request_id}", headers=citizen)
    assert seen.json()["applicant"]["name"] == NAME

    async def journey_audited() -> list[dict[str, Any]] | None:
        entries = await audit_entries(http, backend, subject=request_id)
        types = {entry["event_type"] for entry in entries}
        done = {RequestSubmitted.event_type, CaseOpened.event_type, NotificationSent.event_type}
        return entries if done <= types else None

    entries = await eventually(journey_audited, what="the whole journey in the audit log")
    delivered = [m for m in await sink_messages(http, backend) if m["to"] == f"+62{PHONE_DIGITS}"]
    assert len(delivered) >= 2, "the receipt and the sign-in code reached the gateway"
    assert not any(value.decode(errors="ignore") in str(entries) for value in PERSONAL.values())

    codes = await codes_sent(http, backend, f"+62{PHONE_DIGITS}")
    assert codes, "the sign-in code reached the gateway"

    kafka_logs = backend.run_dir / "kafka" / "log"
    found: dict[str, set[str]] = {}
    topics: set[str] = set()
    clear_codes: set[str] = set()
    sealed_codes = 0
    scanned = 0
    for path in files_under(backend.run_dir, backend.postgres_scratch):
        content = path.read_bytes()
        scanned += 1
        topic = topic_of(path, kafka_logs)
        if topic is not None:
            topics.add(topic)
            if CLEAR_CODE.search(content) or any(f'"{code}"'.encode() in content for code in codes):
                clear_codes.add(topic)
            sealed_codes += content.count(b'"code":"x1.')
        for label, value in PERSONAL.items():
            if value in content:
                found.setdefault(label, set()).add(topic or str(path.relative_to(path.anchor)))

    assert scanned > 100, "the engines' files were scanned"
    assert {REQUESTS.name, CASES.name, IDENTITY.name} <= topics, "the topics' segments were read"
    assert sealed_codes, "the sign-in code's event was found on its topic, sealed"
    assert not clear_codes, f"a sign-in code in clear text on {clear_codes}"
    assert not found, f"personal data in clear text: {found}"
