"""The balancer in front of a service's instances spreads connections in turn and passes over
an instance that refuses them; the stack gives each instance a port and a name of its own."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devstack import kafka
from devstack.balancer import Backends, serve
from devstack.process import free_port
from devstack.stack import SERVICES, Ports, Stack, base_name, instance_name


async def answer_with(
    name: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """An instance that echoes what it reads behind its own name, until the client ends."""
    while data := await reader.read(1024):
        writer.write(name + b":" + data)
        await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def instance(name: bytes, port: int) -> AsyncIterator[asyncio.Server]:
    server = await asyncio.start_server(
        lambda reader, writer: answer_with(name, reader, writer), "127.0.0.1", port
    )
    async with server:
        yield server


async def ask(port: int) -> bytes:
    """One connection through the balancer: the answering instance's name, or b'' if none."""
    for _ in range(50):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.05)
    writer.write(b"ping")
    await writer.drain()
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer.partition(b":")[0]


async def test_connections_go_to_each_instance_in_turn_past_a_dead_one() -> None:
    ports = [free_port(), free_port()]
    public = free_port()
    async with instance(b"one", ports[0]), instance(b"two", ports[1]) as second:
        balancer = asyncio.create_task(
            serve(public, Backends([("127.0.0.1", port) for port in ports]))
        )
        try:
            assert [await ask(public) for _ in range(4)] == [b"one", b"two", b"one", b"two"]

            second.close()
            await second.wait_closed()
            assert [await ask(public) for _ in range(3)] == [b"one", b"one", b"one"]
        finally:
            balancer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await balancer


async def test_a_client_is_closed_when_no_instance_answers() -> None:
    public = free_port()
    balancer = asyncio.create_task(serve(public, Backends([("127.0.0.1", free_port())])))
    try:
        assert await ask(public) == b""
    finally:
        balancer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await balancer


async def test_the_balancer_ends_cleanly_on_sigterm_with_a_connection_open() -> None:
    """As the stack stops it: exit status 0 and nothing on stderr, an open relay included."""
    backend, public = free_port(), free_port()
    async with instance(b"one", backend):
        balancer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devstack.balancer",
            f"--port={public}",
            f"--backend=127.0.0.1:{backend}",
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert await ask(public) == b"one"
            reader, writer = await asyncio.open_connection("127.0.0.1", public)
            writer.write(b"held")
            await writer.drain()
            assert await reader.readexactly(len(b"one:held")) == b"one:held"

            balancer.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(balancer.communicate(), 10)

            assert balancer.returncode == 0
            assert stderr.decode() == ""
            assert await reader.read() == b""
            writer.close()
        finally:
            if balancer.returncode is None:
                balancer.kill()
                await balancer.wait()


def test_several_instances_each_listen_on_a_port_of_their_own(tmp_path: Path) -> None:
    ports = Ports.free()
    stack = Stack(tmp_path, ports, instances=2)

    instance_ports = {stack.instance_port(name, i) for name in SERVICES for i in (1, 2)}

    assert len(instance_ports) == 2 * len(SERVICES)
    assert instance_ports.isdisjoint(ports.services.values())
    assert stack.instance_port("intake", 2) == stack.instance_port("intake", 2)
    assert stack.service_url("intake") == f"http://127.0.0.1:{ports.services['intake']}"
    assert stack.urls()["  intake-2"] == stack.instance_url("intake", 2)


def test_a_single_instance_serves_the_public_port_itself(tmp_path: Path) -> None:
    stack = Stack(tmp_path, Ports.free())

    assert stack.instance_url("audit", 1) == stack.service_url("audit")
    assert stack.instance_url("audit", 2) != stack.service_url("audit")


def test_instances_and_brokers_are_named_after_what_they_are(tmp_path: Path) -> None:
    assert [instance_name("intake", i) for i in (1, 2)] == ["intake", "intake-2"]
    assert [base_name(n) for n in ("kafka-3", "intake-2", "intake balancer", "message_sink")] == [
        "kafka",
        "intake",
        "intake balancer",
        "message_sink",
    ]


def test_services_replicate_topics_to_every_broker_of_the_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka, "provision", lambda: tmp_path / "libs")
    single = Stack(tmp_path / "single", Ports.free())
    cluster = Stack(tmp_path / "cluster", Ports.free(), kafka_brokers=3)

    assert single.service_env("audit")["AUDIT_KAFKA_REPLICATION_FACTOR"] == "1"
    env = cluster.service_env("audit")
    assert env["AUDIT_KAFKA_REPLICATION_FACTOR"] == "3"
    assert env["AUDIT_KAFKA_BOOTSTRAP_SERVERS"].count(",") == 2
    again = Stack(tmp_path / "cluster", Ports.free(), kafka_brokers=3)
    assert again.kafka_bootstrap == cluster.kafka_bootstrap
