"""How fast notify hands citizens' messages to a provider that takes 50 ms to answer.

Starts the engines, the loopback providers and notify alone on free ports, with quiet hours off,
and makes the WhatsApp stand-in wait `--provider-ms` before it takes each message. Requests'
`RequestSubmitted` events are put on the requests topic directly, as intake's outbox relay does;
each asks for a WhatsApp receipt. Two runs:

- dispatch: `--burst` events wait on the topic while notify is stopped; once it starts, messages
  dispatched per second is the rate at which the provider takes their receipts (the middle 80%,
  leaving out the start and the tail);
- latency: `--rate` events a second for `--seconds` seconds, each receipt timed from its event's
  time to the provider taking it.

Notify's per-provider rate limit caps both at its setting (`NOTIFY_WHATSAPP_RATE_PER_S`, 20 a
second by default, what a WhatsApp number starts with); `--whatsapp-rate` sets it for the run, so
that with a high one the figures show notify's own ceiling.

    .venv/bin/python -m benchmarks.notify_dispatch [--burst 2000] [--rate 40] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from benchmarks.stats import percentiles
from devstack.stack import Ports, Stack
from services.intake.config import IntakeSettings
from shared.events.envelope import Actor, ActorKind, Channel, CloudEvent
from shared.events.models.requests import Applicant, RequestSubmitted
from shared.events.models.values import NotificationChannel
from shared.events.sealing import EventKeys, event_keys
from shared.events.topics import REQUESTS
from shared.kafka_producer import new_producer

CITIZEN = Actor(kind=ActorKind.CITIZEN, id="citizen-bench", channel=Channel.API)
WAIT_S = 600.0


def submitted(number: int, now: datetime) -> CloudEvent:
    request_id = str(uuid.uuid4())
    event = RequestSubmitted(
        actor=CITIZEN,
        request_id=request_id,
        service_code="KTP_CETAK",
        tracking_number=f"B{number:07d}",
        applicant=Applicant(
            nik="3516094506900002",
            name=f"Warga {number}",
            phone=f"+6281{number:09d}",
            preferred_channel=NotificationChannel.WHATSAPP,
        ),
        submitted_at=now,
        deadline_working_days=3,
        expected_at=now + timedelta(days=3),
    )
    return CloudEvent.wrap(event, source="/adminduk/intake", time=now)


class Provider:
    """The WhatsApp stand-in: its answer delay, and the receipts it took, by event id."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self._url = stack.message_sink_url
        self._http = http

    async def answer_after(self, seconds: float, messages: int) -> None:
        response = await self._http.post(
            f"{self._url}/v1/faults",
            json={"channel": "WHATSAPP", "kind": "delay", "delay_s": seconds, "count": messages},
        )
        response.raise_for_status()

    async def taken(self) -> dict[str, datetime]:
        """When each receipt was taken, by the id of the event that caused it (the reference is
        the message's idempotency key, which starts with that id)."""
        response = await self._http.get(f"{self._url}/v1/received", params={"channel": "WHATSAPP"})
        response.raise_for_status()
        return {
            message["reference"].split(":", 1)[0]: datetime.fromisoformat(message["received_at"])
            for message in response.json()
        }

    async def wait_for(self, event_ids: set[str]) -> dict[str, datetime]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            taken = await self.taken()
            if event_ids <= taken.keys():
                return {event_id: taken[event_id] for event_id in event_ids}
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the provider took {len(event_ids & taken.keys())} of {len(event_ids)}")


async def measure(
    stack: Stack, *, burst: int, rate: float, seconds: float, provider_s: float
) -> None:
    producer = new_producer(stack.kafka_access())
    keys = intake_keys(stack)
    await producer.start()
    async with httpx.AsyncClient(timeout=30) as http:
        provider = Provider(stack, http)
        latency_events = int(rate * seconds)
        await provider.answer_after(provider_s, burst + latency_events)
        try:
            stack.stop(["notify"])
            events = [submitted(number, datetime.now(UTC)) for number in range(burst)]
            await asyncio.gather(*(send(producer, keys, event) for event in events))
            await asyncio.to_thread(stack.start_service, "notify")
            times = sorted((await provider.wait_for({event.id for event in events})).values())
            tenth, ninetieth = times[len(times) // 10], times[len(times) * 9 // 10]
            steady = (len(times) * 8 // 10) / (ninetieth - tenth).total_seconds()
            print(
                f"dispatch: {burst} receipts waiting when notify starts: {steady:,.0f} messages/s "
                f"(from the 10th to the 90th percentile receipt), all in "
                f"{(times[-1] - times[0]).total_seconds():.1f} s"
            )

            paced: list[CloudEvent] = []
            began = time.perf_counter()
            for number in range(burst, burst + latency_events):
                await asyncio.sleep(max(0.0, began + len(paced) / rate - time.perf_counter()))
                event = submitted(number, datetime.now(UTC))
                paced.append(event)
                await send(producer, keys, event)
            taken = await provider.wait_for({event.id for event in paced})
            latencies = [(taken[event.id] - event.time).total_seconds() * 1000 for event in paced]
            cut = percentiles(latencies)
            print(
                f"latency at {rate:g} requests/s for {seconds:g} s, RequestSubmitted → provider: "
                + ", ".join(f"{name} {value:.0f} ms" for name, value in cut.items() if value)
            )
        finally:
            await producer.stop()


def intake_keys(stack: Stack) -> EventKeys:
    """The keys intake seals its events with in this stack, since the benchmark plays intake."""
    settings = IntakeSettings(
        environment="development", local_secrets_dir=stack.run_dir / "secrets"
    )
    return event_keys(
        settings,
        service="intake",
        handled=(),
        recipients={"notify": settings.sign_in_code_sealer()},
    )


async def send(producer: AIOKafkaProducer, keys: EventKeys, event: CloudEvent) -> None:
    await producer.send_and_wait(
        REQUESTS.name,
        keys.seal(event).to_json_bytes(),
        key=event.subject.encode(),
        headers=CloudEvent.structured_headers(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--provider-ms", type=float, default=50.0)
    parser.add_argument("--whatsapp-rate", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    env = {
        "NOTIFY_QUIET_HOURS": "false",
        "NOTIFY_WHATSAPP_RATE_PER_S": str(args.whatsapp_rate),
        "NOTIFY_DELIVERY_CONCURRENCY": str(args.concurrency),
    }
    print(
        f"provider answers after {args.provider_ms:g} ms; notify: WhatsApp rate limit "
        f"{args.whatsapp_rate:g}/s, {args.concurrency} concurrent sends a channel"
    )
    with tempfile.TemporaryDirectory(prefix="adminduk-bench-") as run_dir:
        stack = Stack(Path(run_dir), Ports.free(), service_env=env)
        try:
            stack.start_engines()
            stack.start_message_sink()
            stack.start_service("notify")
            asyncio.run(
                measure(
                    stack,
                    burst=args.burst,
                    rate=args.rate,
                    seconds=args.seconds,
                    provider_s=args.provider_ms / 1000,
                )
            )
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
