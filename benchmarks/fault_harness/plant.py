"""Violations the integrity rules must find, committed on purpose during the run.

Each happens at a service point of its own, so the mix's officers never take its cases: an
illegal-fee complaint, a claim out of queue order without an accepted reason, an officer working
on their own request (as the staff directory written for audit says), a request sent back three
times, an officer reading twenty cases never held, and, when the run is outside office time, that.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from benchmarks.fault_harness.books import Planted
from benchmarks.fault_harness.mix import DEFAULT_POINT, Mix, form, nik

SELF_DEALER = "verifier-self-dealing"
SELF_NIK_SERIAL = 90_000
QUEUE_JUMPER = "verifier-queue-jump"
READER = "verifier-bulk-reader"
BULK_READS = 20
SEND_BACKS = 3
OPENED_TIMEOUT_S = 120.0
SUBMIT_TRIES = 30
"""A planted request is sent again (same Idempotency-Key) through faults until it is taken."""


def staff_directory(path: Path) -> Path:
    """Audit's staff directory, naming the officer who will act on their own request."""
    entries = [
        {"sub": SELF_DEALER, "nik": nik(SELF_NIK_SERIAL), "family_card_number": "3516090101089999"}
    ]
    path.write_text(json.dumps(entries))
    return path


class Planter:
    def __init__(self, mix: Mix) -> None:
        self.mix = mix
        self.cases = f"{mix.processing}/v1/cases"

    def plant(self, rule: str, officer: str | None, about: str | None) -> None:
        self.mix.ledger.planted.append(Planted(rule, officer, about))

    async def counter_submission(self, point: str, n: int) -> str | None:
        headers = self.mix.bearer(
            "counter_officer", service_point=point, subject=f"counter-{point}"
        )
        for _ in range(SUBMIT_TRIES):
            request_id = await self.mix.by_api(
                f"plant {point}", n, headers, form(n) | {"consent": True}, later=False
            )
            if request_id is not None:
                return request_id
            await asyncio.sleep(2)
        return None

    async def opened(self, request_id: str, headers: dict[str, str]) -> bool:
        """Waits until processing has the case."""
        deadline = asyncio.get_running_loop().time() + OPENED_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            found = await self.mix.call(
                "plant", "GET", f"{self.cases}/{request_id}", headers=headers
            )
            if found is not None and found.status_code == 200:
                return True
            await asyncio.sleep(1)
        return False

    async def all(self) -> None:
        await asyncio.gather(
            self.illegal_fee(), self.queue_jump(), self.self_dealing(), self.send_backs()
        )

    async def illegal_fee(self) -> None:
        request_id = await self.counter_submission("PLANT_FEE", 90_001)
        if request_id is None:
            return
        request = await self.mix.call(
            "plant",
            "GET",
            f"{self.mix.intake}/v1/requests/{request_id}",
            headers=self.mix.ledger.owners[request_id],
        )
        if request is None or request.status_code != 200:
            return
        complaint = await self.mix.call(
            "plant",
            "POST",
            f"{self.mix.intake}/v1/complaints",
            json={
                "category": "ILLEGAL_FEE",
                "description": "Petugas meminta uang agar KTP cepat jadi.",
                "tracking_number": request.json()["tracking_number"],
                "anonymous": True,
            },
        )
        if complaint is not None and complaint.status_code == 201:
            self.plant("ILLEGAL_FEE", None, request_id)

    async def queue_jump(self) -> None:
        point = "PLANT_JUMP"
        first = await self.counter_submission(point, 90_002)
        second = await self.counter_submission(point, 90_003)
        jumper = self.mix.bearer("verifier", service_point=point, subject=QUEUE_JUMPER)
        if first is None or second is None or not await self.opened(second, jumper):
            return
        claimed = await self.mix.call(
            "plant",
            "POST",
            f"{self.cases}/{second}/claim",
            json={"reason_code": "KENALAN"},
            headers=jumper,
        )
        if claimed is not None and claimed.status_code == 200:
            self.plant("QUEUE_JUMP", QUEUE_JUMPER, second)

    async def self_dealing(self) -> None:
        point = "PLANT_SELF"
        request_id = await self.counter_submission(point, SELF_NIK_SERIAL)
        officer = self.mix.bearer("verifier", service_point=point, subject=SELF_DEALER)
        if request_id is not None and await self.claimed(officer):
            self.plant("SELF_DEALING", SELF_DEALER, request_id)

    async def send_backs(self) -> None:
        point = "PLANT_BACK"
        request_id = await self.counter_submission(point, 90_004)
        officer = self.mix.bearer("verifier", service_point=point, subject="verifier-send-back")
        if request_id is None:
            return
        owner = self.mix.ledger.owners[request_id]
        for _ in range(SEND_BACKS):
            if not await self.claimed(officer):
                return
            sent_back = await self.mix.step(
                officer, request_id, "request-revision", {"items": ["Foto KK buram"]}
            )
            if sent_back is None or sent_back.status_code != 200:
                return
            self.mix.ledger.steps.append((request_id, "request-revision"))
            await self.resubmitted(request_id, owner)
        self.plant("REPEATED_SEND_BACKS", None, request_id)

    async def claimed(self, officer: dict[str, str]) -> bool:
        deadline = asyncio.get_running_loop().time() + OPENED_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            claimed = await self.mix.call(
                "plant", "POST", f"{self.mix.processing}/v1/queues/claim-next", headers=officer
            )
            if claimed is not None and claimed.status_code == 200:
                return True
            await asyncio.sleep(1)
        return False

    async def resubmitted(self, request_id: str, owner: dict[str, str]) -> None:
        """Waits until intake knows of the send-back, then resubmits."""
        deadline = asyncio.get_running_loop().time() + OPENED_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            fixed = await self.mix.call(
                "plant",
                "POST",
                f"{self.mix.intake}/v1/requests/{request_id}/resubmit",
                headers=owner,
            )
            if fixed is not None and fixed.status_code == 202:
                return
            await asyncio.sleep(1)

    async def bulk_reads(self, outside_office_time: bool) -> None:
        """Reads of cases the reader never held, at the default point, once the run has them."""
        reader = self.mix.bearer("verifier", service_point=DEFAULT_POINT, subject=READER)
        read = 0
        for request_id in sorted(self.mix.ledger.accepted):
            if read == BULK_READS:
                break
            found: Any = await self.mix.call(
                "plant", "GET", f"{self.cases}/{request_id}", headers=reader
            )
            read += found is not None and found.status_code == 200
        if read == BULK_READS:
            self.plant("BULK_READS", READER, None)
            if outside_office_time:
                self.plant("OFF_HOURS", READER, None)
