"""FerretDB v1 with its SQLite backend: the MongoDB-protocol server for local runs and tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from devstack.paths import CACHE_DIR, PACKAGE_DIR, fingerprint
from devstack.process import ManagedProcess, StartupError, port_open, run_checked

SOURCE_DIR = PACKAGE_DIR / "ferretdb"
READY_TIMEOUT_S = 30.0


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
    binary: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> ManagedProcess:
        """Starts the server and waits until it accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        process = ManagedProcess(
            "FerretDB",
            [
                str(self.binary),
                f"--listen-addr=127.0.0.1:{self.port}",
                f"--data-dir={self.data_dir / 'sqlite'}",
            ],
            log_path=self.data_dir / "ferretdb.log",
        )
        process.start()
        try:
            process.wait_until(
                lambda: port_open(self.port), timeout=READY_TIMEOUT_S, what="accept connections"
            )
        except BaseException:
            process.stop()
            raise
        return process
