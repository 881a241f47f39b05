"""PostgreSQL for FerretDB: a cluster of the project's own, run with the machine's binaries.

PostgreSQL refuses to run as root, so a root caller runs it as an unprivileged system user, which
must be able to reach the cluster's folder.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack.process import Account, ManagedProcess, StartupError, port_open, run_checked

DEBIAN_ROOT = Path("/usr/lib/postgresql")
SERVER_USERS = ("postgres", "nobody")
SUPERUSER = "ferretdb"
DATABASE = "ferretdb"
READY_TIMEOUT_S = 60.0
# Sized for a 2-core, 24 GiB machine that also runs Kafka and the services; fsync stays on.
SETTINGS = {
    "fsync": "on",
    "shared_buffers": "1GB",
    "effective_cache_size": "8GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "2GB",
    "jit": "off",
    "max_connections": "400",
}
# FerretDB's own default of 50 PostgreSQL connections ran out under the services' load and the
# engine stopped answering; an update can hold one connection for its read while it waits for
# another to write, so it needs room beyond the number of clients.
FERRETDB_POOL_SIZE = 300
FERRETDB_CONNECTION_LIFETIME = "10m"
FERRETDB_CONNECTION_IDLE_TIME = "1m"
"""A connection free for a minute is closed, so after a burst the cluster is back to its idle
connections within about a minute (FerretDB 1.24 turns any `pool_max_conn_idle_time` given into
one minute; without one it keeps them half an hour). A connection in use lives ten minutes: each
new one reads PostgreSQL's catalogs again for every table it touches, which at a 30 s lifetime
was about 40% of the rows the engine read per request."""


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.name.split("."))


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres", "psql"))


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def find_bindir(debian_root: Path = DEBIAN_ROOT) -> Path:
    """The folder of initdb and postgres: Debian's newest version, else pg_config's or PATH's."""
    versions = [
        folder
        for folder in (debian_root.iterdir() if debian_root.is_dir() else [])
        if re.fullmatch(r"\d+(\.\d+)?", folder.name)
    ]
    on_path = shutil.which("postgres")
    candidates = [
        *(folder / "bin" for folder in sorted(versions, key=_version, reverse=True)),
        _pg_config_bindir(),
        None if on_path is None else Path(on_path).resolve().parent,
    ]
    for bindir in candidates:
        if bindir is not None and _has_server(bindir):
            return bindir
    raise StartupError(
        "PostgreSQL not found: FerretDB keeps its data in it; "
        "install Debian's package with `apt-get install postgresql`"
    )


def server_account() -> Account | None:
    """The user to run PostgreSQL as when we are root (it refuses root); None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        groups = tuple(os.getgrouplist(name, entry.pw_gid))
        return Account(name, entry.pw_uid, entry.pw_gid, groups)
    raise StartupError(f"PostgreSQL refuses to run as root, and none of {SERVER_USERS} exist")


def unreachable_parent(path: Path, account: Account | None) -> Path | None:
    """The first existing folder on the way to `path` that `account` may not enter, if any."""
    if account is None:
        return None
    for folder in reversed([path, *path.parents]):
        try:
            info = folder.stat()
        except FileNotFoundError:
            return None
        if info.st_uid == account.uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == account.gid or info.st_gid in account.groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None


@dataclass(frozen=True)
class PostgresCluster:
    """A cluster on loopback with its own socket folder, trusting local connections only.

    `home` holds the cluster (`data`) and its socket folder, both owned by `account` if given.
    """

    bindir: Path
    home: Path
    port: int
    log_path: Path
    account: Account | None = None

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "socket"

    @property
    def url(self) -> str:
        """FerretDB's connection string, through the cluster's Unix socket: each operation makes
        three or four round trips to PostgreSQL, and a socket costs both sides less than TCP on
        loopback."""
        return (
            f"postgres://{SUPERUSER}@/{DATABASE}?host={self.socket_dir}&port={self.port}"
            f"&pool_max_conns={FERRETDB_POOL_SIZE}"
            f"&pool_max_conn_lifetime={FERRETDB_CONNECTION_LIFETIME}"
            f"&pool_max_conn_idle_time={FERRETDB_CONNECTION_IDLE_TIME}&pool_health_check_period=2s"
        )

    def initdb_command(self, data_dir: Path) -> list[str]:
        return [
            str(self.bindir / "initdb"), "-D", str(data_dir), "--auth=trust",
            "--encoding=UTF8", "--locale=C", f"--username={SUPERUSER}",
        ]  # fmt: skip

    def server_command(self) -> list[str]:
        settings = SETTINGS | {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
        }
        options = [part for item in settings.items() for part in ("-c", "=".join(item))]
        return [str(self.bindir / "postgres"), "-D", str(self.data_dir), *options]

    def psql_command(self, sql: str, database: str = "postgres") -> list[str]:
        return [*self._psql(database), "-c", sql]

    def psql_file_command(self, script: Path, database: str = DATABASE) -> list[str]:
        return [*self._psql(database), "-v", "ON_ERROR_STOP=1", "-f", str(script)]

    def _psql(self, database: str) -> list[str]:
        return [
            str(self.bindir / "psql"), "-X", "-q", "-tA", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", SUPERUSER, "-d", database,
        ]  # fmt: skip

    def run_script(self, script: Path) -> None:
        """Runs an SQL script in FerretDB's database, stopping at its first error."""
        run_checked(self.psql_file_command(script), what=f"running {script.name} in PostgreSQL")

    def _own(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.account is not None:
            os.chown(folder, self.account.uid, self.account.gid)
        folder.chmod(0o700)

    def _init(self) -> None:
        """Creates the cluster once; in a staging folder first, so a broken attempt is redone."""
        self.home.mkdir(parents=True, exist_ok=True)
        blocked = unreachable_parent(self.home.parent, self.account)
        if blocked is not None and self.account is not None:
            raise StartupError(
                f"PostgreSQL runs as user {self.account.name}, who cannot enter {blocked}"
            )
        self._own(self.home)
        self._own(self.socket_dir)
        if (self.data_dir / "PG_VERSION").is_file():
            return
        staging = self.home / "data.new"
        if staging.exists():
            shutil.rmtree(staging)
        run_checked(
            self.initdb_command(staging),
            cwd=self.home,
            account=self.account,
            what="creating the PostgreSQL cluster with initdb",
        )
        staging.rename(self.data_dir)

    def _query(self, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.psql_command(sql), capture_output=True, text=True, check=False, timeout=10
        )

    def _ensure_database(self) -> None:
        exists = self._query(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if exists.stdout.strip() != "1":
            run_checked(
                self.psql_command(f"CREATE DATABASE {DATABASE}"),
                what=f"creating the PostgreSQL database {DATABASE}",
            )

    def start(self) -> ManagedProcess:
        """Creates the cluster on first use, starts it and waits until it answers a query."""
        self._init()
        process = ManagedProcess(
            "PostgreSQL",
            self.server_command(),
            log_path=self.log_path,
            cwd=self.home,
            account=self.account,
            # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to leave.
            stop_signal=signal.SIGINT,
        )
        process.start()
        try:
            process.wait_until(
                lambda: port_open(self.port) and self._query("SELECT 1").returncode == 0,
                timeout=READY_TIMEOUT_S,
                what="accept connections",
            )
            self._ensure_database()
        except BaseException:
            process.stop()
            raise
        return process
