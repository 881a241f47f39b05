"""FerretDB v1 over PostgreSQL: the MongoDB-protocol server for local runs and tests."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from devstack.paths import CACHE_DIR, PACKAGE_DIR, fingerprint
from devstack.process import ManagedProcess, StartupError, port_open, run_checked

SOURCE_DIR = PACKAGE_DIR / "ferretdb"
TABLES_SQL = SOURCE_DIR / "tables.sql"
"""Makes concurrent updates of one document safe and lookups by `_id` indexed; run in FerretDB's
database before it starts."""
READY_TIMEOUT_S = 30.0
GC_PERCENT = "400"
"""Go's collector at its default (100) took about 13% of FerretDB's CPU under load, collecting
every ~150 ms around a live heap of 11 MB; letting the heap grow to five times that before a
collection costs some 40 MB and makes about a quarter as many collections."""
SOCKET_PATH_MAX = 107
"""Bytes in a Unix socket's path on Linux (`sun_path` holds 108, the last a NUL)."""


def provision(cache_dir: Path = CACHE_DIR) -> Path:
    """Builds the server from the Go module proxy once; returns the binary's path."""
    binary = cache_dir / "ferretdb" / "ferretdb"
    stamp = cache_dir / "ferretdb" / ".fingerprint"
    wanted = fingerprint(*(SOURCE_DIR / name for name in ("main.go", "go.mod", "go.sum")))
    if binary.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return binary
    go = shutil.which("go")
    if go is None:
        raise StartupError("Go not found: it builds FerretDB from the Go module proxy")
    binary.parent.mkdir(parents=True, exist_ok=True)
    run_checked(
        [go, "build", "-o", str(binary), "."],
        cwd=SOURCE_DIR,
        what="building FerretDB with Go",
    )
    stamp.write_text(wanted)
    return binary


@dataclass(frozen=True)
class FerretDBServer:
    """A server on loopback that keeps its data in the PostgreSQL database at `postgresql_url`.

    It listens on a TCP port for tools and on a Unix socket for the stack's services: each
    operation is a round trip, and a socket costs both ends less than TCP on loopback.
    """

    binary: Path
    postgresql_url: str
    port: int
    socket: Path
    log_path: Path

    def start(self) -> ManagedProcess:
        """Starts the server and waits until it accepts connections."""
        if len(os.fsencode(self.socket)) > SOCKET_PATH_MAX:
            raise StartupError(
                f"FerretDB's socket path is over {SOCKET_PATH_MAX} bytes, the most a Unix socket"
                f" takes: {self.socket}; run from a shorter folder"
            )
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        process = ManagedProcess(
            "FerretDB",
            [
                str(self.binary),
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--listen-unix={self.socket}",
                f"--postgresql-url={self.postgresql_url}",
            ],
            log_path=self.log_path,
            env={**os.environ, "GOGC": GC_PERCENT},
        )
        process.start()
        try:
            process.wait_until(
                lambda: port_open(self.port) and self.socket.exists(),
                timeout=READY_TIMEOUT_S,
                what="accept connections",
            )
        except BaseException:
            process.stop()
            raise
        return process


def socket_url(socket: Path) -> str:
    """The connection string of a server listening on `socket` (PyMongo wants the path
    percent-encoded and ending in `.sock`)."""
    return f"mongodb://{quote(str(socket), safe='')}/"
