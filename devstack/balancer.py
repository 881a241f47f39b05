"""One public port in front of a service's instances, as a deployment's load balancer is: each
new connection goes to the next instance in turn, past any that refuses it (killed, restarting).

`python -m devstack.balancer --port P --backend 127.0.0.1:A --backend 127.0.0.1:B` serves until
it is stopped. It balances connections, not requests: a client that keeps its connection alive
stays with one instance, as behind a TCP load balancer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import sys
from collections.abc import Sequence

CONNECT_TIMEOUT_S = 2.0
CHUNK_BYTES = 64 * 1024


class Backends:
    """The instances in round-robin order."""

    def __init__(self, addresses: Sequence[tuple[str, int]]) -> None:
        self.addresses = list(addresses)
        self._turn = itertools.cycle(range(len(self.addresses)))

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the next instance that takes one; None if none does."""
        start = next(self._turn)
        for offset in range(len(self.addresses)):
            host, port = self.addresses[(start + offset) % len(self.addresses)]
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(host, port), CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                continue
        return None


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copies one direction until its end, then passes the end on (a half close)."""
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


async def relay(
    backends: Backends, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    """Joins one client connection to one instance until both sides have ended."""
    connected = await backends.connect()
    if connected is None:
        client_writer.close()
        return
    server_reader, server_writer = connected
    try:
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
    finally:
        for writer in (server_writer, client_writer):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def serve(
    port: int, backends: Backends, host: str = "127.0.0.1", *, until: asyncio.Event | None = None
) -> None:
    """Serves until `until` is set (or the task is cancelled), then ends every open relay before
    returning, so that no connection's coroutine is left to be collected half-way."""
    relays: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        relays.add(task)
        try:
            with contextlib.suppress(asyncio.CancelledError):  # ended by the stop, not an error
                await relay(backends, reader, writer)
        finally:
            relays.discard(task)

    server = await asyncio.start_server(tracked, host, port)
    async with server:
        try:
            await (until or asyncio.Event()).wait()
        finally:
            server.close()
            for task in list(relays):
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)


async def serve_until_signalled(port: int, backends: Backends) -> None:
    """Ends cleanly on SIGTERM or SIGINT, as the stack stops it."""
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await serve(port, backends, until=stopped)


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.balancer", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--backend", type=parse_address, action="append", required=True, help="HOST:PORT"
    )
    args = parser.parse_args(argv)
    asyncio.run(serve_until_signalled(args.port, Backends(args.backend)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
