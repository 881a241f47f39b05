"""The seeded mix of citizens, operators and staff, through every channel the backend has.

Submissions arrive on a schedule (open loop) by the app API with documents, the WhatsApp and SMS
webhooks (signed as the providers sign), village operators and the counter; visits, complaints
and letters come in between; officers work the queues through the console the whole time.
Every call is written to the ledger, which the books are checked against afterwards.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from typing import Any

import httpx

from benchmarks.fault_harness.books import Invalid
from benchmarks.fault_harness.ledger import Call, Ledger, Unanswered
from devstack.forms import KTP_REPRINT
from devstack.stack import Stack
from services.intake.config import IntakeSettings
from services.intake.conversations.routes import SMS_WEBHOOK_PATH as SMS_WEBHOOK
from shared.calendar import JAKARTA
from shared.signatures import timestamped_signature
from tests.documents import JPEG, PDF
from tests.whatsapp_webhooks import body_of, image, notification, signed, text

DEFAULT_POINT = "KANTOR_DINAS"
"""Where requests not made at a counter are worked on (ADMINDUK_DEFAULT_SERVICE_POINT)."""
COUNTER_POINT = "MPP_HARNESS"
VILLAGE = "3516092003"
WHATSAPP_WEBHOOK = "/v1/channels/whatsapp/webhook"
CHANNELS = {"api": 0.40, "sms": 0.15, "whatsapp": 0.10, "operator": 0.15, "counter": 0.20}
INVALID_SHARE = 0.03
"""Submissions sent with a form intake must refuse (4xx with a reason), and store nothing of."""
INVALID_FORMS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "a NIK of 15 digits": lambda body: body | {"nik": body["nik"][:15]},
    "a service not in the catalogue": lambda body: body | {"service_code": "KTP_TIDAK_ADA"},
    "a required field missing": lambda body: body | {"fields": {"reason": "RUSAK"}},
    "no name": lambda body: {k: v for k, v in body.items() if k != "name"},
}
VISIT_SHARE = 0.05
COMPLAINT_SHARE = 0.03
LETTER_EVERY = 100
SEND_BACK_SHARE = 0.1
DOCUMENTS_WAIT_S = 3.0
"""How long a verifier waits once for documents still on their way before sending it back."""
STEP_TIMEOUT_S = 300.0
SIGN_IN_TIMEOUT_S = 30.0
SIGN_IN_CODE = re.compile(r"Kode masuk Adminduk Anda: (\d{6})")
CITIZENS = 10
"""Signed-in citizens of the app, each submitting for several NIKs (their family's)."""
SIGN_IN_AGAIN_S = 600.0
"""A citizen's token lasts 15 minutes: the app signs in again well before, and a minute after
a sign-in that failed (under a fault)."""
SIGN_IN_RETRY_S = 60.0
SHIFT_S = 8 * 3600
"""Staff tokens last a working day, the longest a run may take."""
FIX_TIMEOUT_S = 180.0
"""How long a citizen keeps looking for their request's send-back."""
MENU_KTP_REPRINT = "7"
"""The e-KTP reprint's number in the WhatsApp menu."""
IN_FLIGHT = 96
"""Calls under way at once, below the client's connections: past it a call waits its turn here,
as behind a client's pool. Left to httpx's pool, thousands of calls queued behind a killed
instance made each new one cost a scan of the queue, until the harness did nothing else."""
RETRYING_CLIENTS = 8
"""Clients sending their unanswered submissions again at once, once the run has settled."""
RETRY_TIMEOUT_S = 600.0
"""How long such a client keeps waiting out a rate limit (429, `Retry-After`)."""
RETRIES = 8
"""Tries of one call through a fault (5xx, 429 or no answer), with a backoff from 1 s up to 8 s:
a client that gives up after a minute."""
ACTIONS = {
    "verifier": "verify",
    "signer": "approve",
    "operator": "issue",
    "counter_officer": "complete",
}
STAFF_ROLES = {"verifier": 2, "signer": 1, "operator": 1, "counter_officer": 1}


def nik(n: int) -> str:
    """The n-th NIK of the run (a woman born 5 June 19YY), one of its own per submission."""
    return f"3516094506{90 - n // 9999:02d}{n % 9999 + 1:04d}"


def phone(n: int) -> str:
    return f"0857{n % 10_000_000:08d}"


def e164(local: str) -> str:
    return "+62" + local[1:]


def error_code(response: httpx.Response | None) -> str | None:
    """The `error` of an answer's JSON body, if it has one."""
    try:
        body = response.json() if response is not None else None
    except ValueError:
        return None
    return str(body["error"]) if isinstance(body, dict) and "error" in body else None


def form(n: int) -> dict[str, Any]:
    return {**KTP_REPRINT, "nik": nik(n), "name": f"Warga {n}", "phone": phone(n)}


@dataclass
class AppCitizen:
    """A citizen signed in to the app. `headers` is renewed in place when they sign in again,
    so that the requests recorded with it stay theirs to follow up."""

    local: str
    headers: dict[str, str]
    sign_in_due: float = field(default_factory=lambda: time.monotonic() + SIGN_IN_AGAIN_S)


class Mix:
    def __init__(
        self, stack: Stack, http: httpx.AsyncClient, ledger: Ledger, rng: random.Random, seed: int
    ) -> None:
        self.stack, self.http, self.ledger, self.rng, self.seed = stack, http, ledger, rng, seed
        self.intake = stack.service_url("intake")
        self.processing = stack.service_url("processing")
        self.staff_done = asyncio.Event()
        self.sms_secret = stack.service_secret("INTAKE_SMS_WEBHOOK_SECRET").encode()
        self.whatsapp_secret = stack.service_secret("INTAKE_WHATSAPP_APP_SECRET")
        self.letters = 0
        self.fixing: set[asyncio.Task[None]] = set()
        self.in_flight = asyncio.Semaphore(IN_FLIGHT)
        self.citizens: list[AppCitizen] = []
        self.undelivered: list[Callable[[], Awaitable[bool]]] = []

    # --- calls ---------------------------------------------------------------------------

    async def call(
        self, kind: str, method: str, url: str, *, retry: bool = True, **kwargs: Any
    ) -> httpx.Response | None:
        """One call, tried again through faults; None if no answer ever came."""
        response: httpx.Response | None = None
        for attempt in range(RETRIES if retry else 1):
            response, _ = await self.attempt(kind, method, url, **kwargs)
            if response is not None and response.status_code < 500 and response.status_code != 429:
                return response
            await asyncio.sleep(min(2**attempt, 8))
        return response

    async def attempt(
        self, kind: str, method: str, url: str, **kwargs: Any
    ) -> tuple[httpx.Response | None, str]:
        """One try, recorded: its answer, and its outcome (the status, or the error's name)."""
        try:
            async with self.in_flight:
                begun = time.time()
                response = await self.http.request(method, url, **kwargs)
            outcome = str(response.status_code)
        except httpx.HTTPError as error:
            response, outcome = None, type(error).__name__
        self.ledger.calls.append(
            Call(begun - self.ledger.started, kind, outcome, time.time() - begun)
        )
        return response, outcome

    def bearer(self, role: str, **claims: Any) -> dict[str, str]:
        token = self.stack.mint_token(role, lifetime_s=SHIFT_S, **claims)
        return {"Authorization": f"Bearer {token}"}

    async def sign_in_again(self) -> None:
        """Every app citizen signs in again, as one back in the app after a while does."""
        for citizen in self.citizens:
            await self.renew(citizen)

    async def sign_in_citizens(self, count: int) -> None:
        """Citizens of the app, signed in before any fault, so every one succeeds."""
        for k in range(count):
            local = phone(80_000 + k)
            token = await self.sign_in(local)
            self.citizens.append(AppCitizen(local, {"Authorization": f"Bearer {token}"}))

    async def citizen(self, n: int) -> AppCitizen:
        """The app citizen submitting the n-th form, signed in again when their token is due."""
        citizen = self.citizens[n % len(self.citizens)]
        if time.monotonic() >= citizen.sign_in_due:
            await self.renew(citizen)
        return citizen

    async def renew(self, citizen: AppCitizen) -> None:
        """Signs the citizen in again; after a failure (under a fault) tries again later."""
        citizen.sign_in_due = time.monotonic() + SIGN_IN_AGAIN_S
        try:
            token = await self.sign_in(citizen.local)
        except (RuntimeError, httpx.HTTPError):
            citizen.sign_in_due = time.monotonic() + SIGN_IN_RETRY_S
        else:
            citizen.headers["Authorization"] = f"Bearer {token}"

    async def sign_in(self, local: str) -> str:
        """A citizen's token, got as the app gets it: a code by SMS, read at the message sink,
        sent back to intake."""
        already = len(await self.received(e164(local)))
        asked = await self.call(
            "sign-in",
            "POST",
            f"{self.intake}/v1/auth/otp",
            json={"phone": e164(local), "channel": "SMS"},
        )
        if asked is None or asked.status_code != 202:
            raise RuntimeError(f"no sign-in code for a citizen: {asked}")
        code = await self.sign_in_code(e164(local), after=already)
        verified = await self.call(
            "sign-in",
            "POST",
            f"{self.intake}/v1/auth/otp/verify",
            json={"phone": e164(local), "code": code},
        )
        if verified is None or verified.status_code != 200:
            raise RuntimeError(f"a citizen's sign-in code was refused: {verified}")
        return str(verified.json()["access_token"])

    async def sign_in_code(self, to: str, *, after: int) -> str:
        """The code in the first sign-in message to `to` past the `after` it had already got."""
        deadline = time.monotonic() + SIGN_IN_TIMEOUT_S
        while time.monotonic() < deadline:
            for message in (await self.received(to))[after:]:
                if found := SIGN_IN_CODE.search(message["text"]):
                    return found.group(1)
            await asyncio.sleep(0.5)
        raise RuntimeError(f"no sign-in code reached the message sink in {SIGN_IN_TIMEOUT_S} s")

    async def received(self, to: str) -> list[dict[str, Any]]:
        listed = await self.http.get(
            f"{self.stack.message_sink_url}/v1/received", params={"to": to}
        )
        messages: list[dict[str, Any]] = listed.json()
        return messages

    # --- submissions ---------------------------------------------------------------------

    async def submit(self, n: int) -> None:
        if self.rng.random() < INVALID_SHARE:
            await self.invalid(n)
            return
        channel = self.rng.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        if channel == "sms":
            await self.by_sms(n)
        elif channel == "whatsapp":
            await self.by_whatsapp(n)
        else:
            headers, body = await self._submitter(channel, n)
            await self.by_api(channel, n, headers, body)

    async def _submitter(self, channel: str, n: int) -> tuple[dict[str, str], dict[str, Any]]:
        """The caller's headers (an app citizen's are kept signed in, so a request's owner can
        still follow it up later) and the form they send."""
        body = form(n)
        if channel == "operator":
            headers = self.bearer(
                "village_operator",
                village=VILLAGE,
                subject="operator-harness",
                phone_number="+6281377770001",
            )
            return headers, {k: v for k, v in body.items() if k != "phone"} | {"consent": True}
        if channel == "counter":
            return self.bearer(
                "counter_officer", service_point=COUNTER_POINT, subject="counter-harness"
            ), body | {"consent": True}
        return (await self.citizen(n)).headers, body

    async def by_api(
        self,
        channel: str,
        n: int,
        headers: dict[str, str],
        body: dict[str, Any],
        *,
        later: bool = True,
    ) -> str | None:
        """Submits once: a submission not answered 2xx is sent again, by its Idempotency-Key,
        once the run has settled (`retry_unanswered`), unless `later` is False (the caller
        retries at once)."""
        key = f"harness-{self.seed}-{n}"
        sent = headers | {"Idempotency-Key": key}
        response, outcome = await self.attempt(
            f"submit {channel}", "POST", f"{self.intake}/v1/requests", json=body, headers=sent
        )
        if response is None or response.status_code >= 300:
            unanswered = response is None or response.status_code in (429, *range(500, 600))
            if later and unanswered:
                self.ledger.unanswered.append(
                    Unanswered(key, "/v1/requests", body, headers, outcome, error_code(response))
                )
            return None
        request_id = str(response.json()["request_id"])
        self.ledger.accepted.add(request_id)
        self.ledger.owners[request_id] = headers
        await self.send_documents(request_id, headers, response.json()["missing_documents"])
        return request_id

    async def invalid(self, n: int) -> None:
        """A counter submission with a form intake must refuse, tried again through faults."""
        flaw = self.rng.choice(sorted(INVALID_FORMS))
        headers, body = await self._submitter("counter", n)
        key = f"harness-{self.seed}-{n}"
        response = await self.call(
            "submit invalid",
            "POST",
            f"{self.intake}/v1/requests",
            json=INVALID_FORMS[flaw](body),
            headers=headers | {"Idempotency-Key": key},
        )
        if response is None:
            self.ledger.invalid.append(Invalid(key, flaw, "no answer"))
            return
        reason = response.json().get("message") if response.status_code >= 400 else None
        self.ledger.invalid.append(Invalid(key, flaw, str(response.status_code), reason))

    async def send_documents(
        self, request_id: str, headers: dict[str, str], missing: list[str]
    ) -> None:
        for requirement in missing:
            await self.call(
                "document",
                "POST",
                f"{self.intake}/v1/requests/{request_id}/documents",
                params={"requirement": requirement},
                content=PDF,
                headers=headers | {"Content-Type": "application/pdf"},
            )

    async def by_sms(self, n: int) -> None:
        command = f"DAFTAR KTP_CETAK {nik(n)} Warga {n}#3516090101080001#RUSAK"
        await self.chat_submission(partial(self.sms, phone(n), f"sms-{self.seed}-{n}", command))

    async def chat_submission(self, deliver: Callable[[], Awaitable[bool]]) -> None:
        """A chat message that submits, counted once answered 200; one that never was through
        the faults is delivered again once the run has settled, as providers redeliver a
        webhook for hours."""
        if await deliver():
            self.ledger.chat_submissions += 1
        else:
            self.undelivered.append(deliver)

    async def redeliver(self) -> None:
        """The chat submissions not answered 200, delivered again by their provider."""
        undelivered, self.undelivered = self.undelivered, []
        for delivered in await asyncio.gather(*(deliver() for deliver in undelivered)):
            if delivered:
                self.ledger.chat_submissions += 1

    async def sms(self, sender: str, message_id: str, text_: str) -> bool:
        """A gateway's delivery, redelivered (same id) until it is answered 200."""
        body = json.dumps({"message_id": message_id, "from": sender, "text": text_}).encode()

        def headers() -> dict[str, str]:
            stamp = str(int(time.time()))
            return {
                "Content-Type": "application/json",
                "X-Sms-Timestamp": stamp,
                "X-Sms-Signature": timestamped_signature(self.sms_secret, stamp, body),
            }

        for _ in range(RETRIES):
            response = await self.call(
                "sms",
                "POST",
                f"{self.intake}{SMS_WEBHOOK}",
                retry=False,
                content=body,
                headers=headers(),
            )
            if response is not None and response.status_code == 200:
                return True
            await asyncio.sleep(2)
        return False

    async def whatsapp(self, sender: str, message_id: str, message: dict[str, Any]) -> bool:
        body = body_of(notification(messages=[message]))
        response = await self.call(
            "whatsapp",
            "POST",
            f"{self.intake}{WHATSAPP_WEBHOOK}",
            content=body,
            headers=signed(body, self.whatsapp_secret),
        )
        return response is not None and response.status_code == 200

    async def by_whatsapp(self, n: int) -> None:
        """The whole conversation for a KTP reprint, one message after the other's answer."""
        sender = "62" + phone(n)[1:]
        script: list[Callable[[str], dict[str, Any]]] = [
            lambda mid: text(sender, mid, "Halo"),
            lambda mid: text(sender, mid, MENU_KTP_REPRINT),
            lambda mid: text(sender, mid, nik(n)),
            lambda mid: text(sender, mid, f"Warga {n}"),
            lambda mid: text(sender, mid, "3516090101080001"),
            lambda mid: text(sender, mid, "1"),
        ]
        for step, message in enumerate(script):
            if not await self.whatsapp(
                sender, f"wamid.{self.seed}.{n}.{step}", message(f"wamid.{self.seed}.{n}.{step}")
            ):
                return
        for step in range(2):
            put = await self.call(
                "media",
                "POST",
                f"{self.stack.message_sink_url}/v1/media",
                content=JPEG,
                headers={"Content-Type": "image/jpeg"},
            )
            if put is None or put.status_code != 201:
                return
            mid = f"wamid.{self.seed}.{n}.photo{step}"
            if not await self.whatsapp(sender, mid, image(sender, mid, put.json()["id"])):
                return
        mid = f"wamid.{self.seed}.{n}.ya"
        await self.chat_submission(partial(self.whatsapp, sender, mid, text(sender, mid, "YA")))

    # --- visits, complaints, letters -----------------------------------------------------

    async def visit(self, n: int, days: list[date], slots: list[str]) -> None:
        booking = {
            "service_code": self.rng.choice(["KTP_REKAM", "IKD_AKTIVASI"]),
            "service_point": DEFAULT_POINT,
            "date": str(self.rng.choice(days)),
            "slot": self.rng.choice(slots),
            "nik": nik(50_000 + n),
            "name": f"Pengunjung {n}",
            "phone": phone(50_000 + n),
            "preferred_channel": "WHATSAPP",
        }
        await self.call("visit", "POST", f"{self.intake}/v1/appointments", json=booking)

    async def complaint(self, n: int) -> None:
        body = {
            "category": self.rng.choice(["DELAY", "RUDENESS", "OTHER"]),
            "description": f"Pengaduan nomor {n} dari uji beban.",
            "anonymous": True,
        }
        await self.call("complaint", "POST", f"{self.intake}/v1/complaints", json=body)

    async def letter(self) -> None:
        self.letters += 1
        clerk = self.bearer("letter_clerk", service_point=DEFAULT_POINT, subject="clerk-harness")
        head = self.bearer("signer", service_point=DEFAULT_POINT, subject="head-harness")
        official = self.bearer("verifier", service_point=DEFAULT_POINT, subject="kabid-harness")
        letters = f"{self.processing}/v1/letters"
        registered = await self.call(
            "letter",
            "POST",
            letters,
            json={
                "sender": "Polres Mojokerto",
                "reference_number": f"B/{self.letters}/XII/2026/Reskrim",
                "letter_date": "2026-12-01",
                "regarding": "Permintaan data kependudukan",
                "classification": "470",
                "urgency": "segera",
                "confidentiality": "biasa",
            },
            headers=clerk,
        )
        if registered is None or registered.status_code != 201:
            return
        base = f"{letters}/{registered.json()['letter_id']}"
        disposed = await self.call(
            "letter",
            "POST",
            f"{base}/dispositions",
            json={
                "to": [{"official": "kabid-harness", "unit": DEFAULT_POINT}],
                "instruction": "TINDAK_LANJUTI",
            },
            headers=head,
        )
        if disposed is not None and disposed.status_code < 300:
            await self.call("letter", "POST", f"{base}/dispositions/D1/read", headers=official)

    # --- the schedule ----------------------------------------------------------------------

    async def run(self, submissions: int, rate: float) -> None:
        """Starts submission n at n/rate seconds, whatever the answers do."""
        days, slots = visit_days(), visit_slots()
        tasks: list[asyncio.Task[None]] = []
        begun = time.monotonic()
        for n in range(submissions):
            delay = begun + n / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.submit(n)))
            if self.rng.random() < VISIT_SHARE:
                tasks.append(asyncio.create_task(self.visit(n, days, slots)))
            if self.rng.random() < COMPLAINT_SHARE:
                tasks.append(asyncio.create_task(self.complaint(n)))
            if n % LETTER_EVERY == LETTER_EVERY - 1:
                tasks.append(asyncio.create_task(self.letter()))
        await asyncio.gather(*tasks)

    async def retry_unanswered(self) -> list[tuple[Unanswered, str, str | None]]:
        """Each submission without a 2xx, sent again as its client would (several clients at
        once): its retry's status and the request it names."""
        clients = asyncio.Semaphore(RETRYING_CLIENTS)

        async def retry(sent: Unanswered) -> tuple[Unanswered, str, str | None]:
            deadline = time.monotonic() + RETRY_TIMEOUT_S
            async with clients:
                while True:
                    response = await self.call(
                        "retry",
                        "POST",
                        f"{self.intake}{sent.path}",
                        json=sent.body,
                        headers=sent.headers | {"Idempotency-Key": sent.key},
                    )
                    if response is None or response.status_code != 429:
                        break
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(float(response.headers.get("Retry-After", "5")))
            status = "no answer" if response is None else str(response.status_code)
            request_id = None
            if response is not None and response.status_code in (200, 202):
                request_id = str(response.json()["request_id"])
            return sent, status, request_id

        return list(await asyncio.gather(*map(retry, self.ledger.unanswered)))

    async def fixes_done(self) -> None:
        """Waits for the citizens still fixing a request sent back to them."""
        await asyncio.gather(*self.fixing)

    # --- staff -----------------------------------------------------------------------------

    async def staff(self) -> None:
        """Officers of both service points take and work cases until `staff_done` is set."""
        workers = [
            self.officer(point, role, f"{role}-{point}-{k}")
            for point in (DEFAULT_POINT, COUNTER_POINT)
            for role, count in STAFF_ROLES.items()
            for k in range(count)
        ]
        await asyncio.gather(*workers)

    async def officer(self, point: str, role: str, subject: str) -> None:
        headers = self.bearer(role, service_point=point, subject=subject)
        while not self.staff_done.is_set():
            claimed = await self.call(
                "claim-next", "POST", f"{self.processing}/v1/queues/claim-next", headers=headers
            )
            if claimed is None or claimed.status_code != 200:
                await asyncio.sleep(1.0)
                continue
            await self.work(role, headers, claimed.json()["request_id"])

    async def work(self, role: str, headers: dict[str, str], request_id: str) -> None:
        step = ACTIONS[role]
        body: dict[str, Any] | None = None
        if role == "verifier" and self.rng.random() < SEND_BACK_SHARE:
            step, body = "request-revision", {"items": ["Foto dokumen kurang jelas"]}
        if role == "operator":
            body = {"document_number": f"3516-KTP-2026-{request_id[-8:]}", "collection": "VILLAGE"}
        done = await self.step(headers, request_id, step, body)
        if role == "verifier" and done is not None and done.status_code == 409:
            await asyncio.sleep(DOCUMENTS_WAIT_S)
            done = await self.step(headers, request_id, step, body)
        if role == "verifier" and done is not None and done.status_code == 409:
            step, body = "request-revision", {"items": ["Dokumen belum lengkap"]}
            done = await self.step(headers, request_id, step, body)
        if done is not None and done.status_code < 300:
            if step in ("approve", "issue", "complete", "request-revision"):
                self.ledger.steps.append((request_id, step))
            if step == "request-revision" and request_id in self.ledger.owners:
                fixing = asyncio.create_task(self.fix(request_id))
                self.fixing.add(fixing)
                fixing.add_done_callback(self.fixing.discard)

    async def step(
        self, headers: dict[str, str], request_id: str, step: str, body: dict[str, Any] | None
    ) -> httpx.Response | None:
        """An officer's step on a case they hold, tried until it is answered: a case left
        claimed would wait for them for ever."""
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            response = await self.call(
                step,
                "POST",
                f"{self.processing}/v1/cases/{request_id}/{step}",
                json=body,
                headers=headers,
            )
            answered = response is not None and response.status_code < 500
            if answered or time.monotonic() > deadline:
                return response

    async def fix(self, request_id: str) -> None:
        """The submitter, once intake shows the send-back, sends documents again and resubmits."""
        owner = self.ledger.owners[request_id]
        url = f"{self.intake}/v1/requests/{request_id}"
        deadline = time.monotonic() + FIX_TIMEOUT_S
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(1, 5))
            request = await self.call("request", "GET", url, headers=owner)
            if request is None or request.status_code != 200:
                continue
            seen = request.json()
            if seen["status"] != "NEEDS_REVISION":
                continue
            again = seen.get("documents_to_send_again") or seen["missing_documents"]
            await self.send_documents(request_id, owner, list(again))
            await self.call("resubmit", "POST", f"{url}/resubmit", headers=owner)
            return


@cache
def intake_settings() -> IntakeSettings:
    """Intake's settings as the stack runs it: its calendar, service points and horizon."""
    return IntakeSettings(environment="development")


def visit_days() -> list[date]:
    """Working days from tomorrow (WIB) within the booking horizon."""
    settings = intake_settings()
    calendar = settings.calendar()
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    days = [today + timedelta(days=k) for k in range(1, settings.booking_horizon_days)]
    return [day for day in days if calendar.is_working_day(day)]


def visit_slots() -> list[str]:
    with open(intake_settings().service_points_file) as file:
        points = json.load(file)["service_points"]
    point = next(p for p in points if p["code"] == DEFAULT_POINT)
    return [f"{slot['start']}-{slot['end']}" for slot in point["slots"]]
