"""Apache Kafka 4 in KRaft mode, from Maven Central jars, secured as in production: clients speak
SASL_SSL with SCRAM-SHA-512, and KRaft's StandardAuthorizer lets each user do only what its ACLs
allow. One combined broker and controller for the stack; a cluster of three for the tests that
take a broker away."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from devstack.paths import CACHE_DIR, PACKAGE_DIR, REPO_ROOT, fingerprint
from devstack.process import (
    ManagedProcess,
    StartupError,
    free_port,
    port_open,
    run_checked,
    stop_all,
)
from devstack.tls import BROKER_NAME, BrokerTls
from shared.kafka import SCRAM_MECHANISM, KafkaAccess, min_insync_replicas

POM = PACKAGE_DIR / "kafka" / "pom.xml"
LOG4J_CONFIG = PACKAGE_DIR / "kafka" / "log4j2.yaml"
MIN_JAVA = 17
QUICK_COMPILER_ONLY = "-XX:TieredStopAtLevel=1"
"""The JVM's optimising compiler (C2) took 15 of a broker's first 38 CPU-seconds under load, and a
local broker lives for one run or test session; its work is mostly network, TLS and the page
cache, which the quick compiler's code serves about as well. The broker used 25% less CPU per
request at 50 requests/s."""
READY_TIMEOUT_S = 120.0
RESTART_READY_TIMEOUT_S = 240.0
"""A node killed with SIGKILL first recovers the logs it had not flushed, which on a busy machine
takes minutes, not the seconds of a clean start."""
ADMIN = "admin"
"""The super user that creates topics' ACLs; the services are users of their own."""
STOP_TIMEOUT_S = 15.0
CLUSTER_SETTINGS = {
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "4000",
    "replica.lag.time.max.ms": "5000",
}
"""A cluster's controllers fence a broker that stopped answering within seconds, not the
default nine, so that a test of a lost broker stays short."""


def java_major_version(java: str) -> int:
    """Reads the major version that `java -version` reports."""
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise StartupError(f"could not read the Java version from `{java} -version`")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> str:
    java = shutil.which("java")
    if java is None or java_major_version(java) < MIN_JAVA:
        raise StartupError(f"Java {MIN_JAVA} not found: Kafka 4 needs a JDK {MIN_JAVA} or newer")
    return java


def provision(cache_dir: Path = CACHE_DIR) -> Path:
    """Resolves the broker's jars with Maven once; returns the folder that holds them."""
    libs = cache_dir / "kafka" / "libs"
    stamp = libs / ".fingerprint"
    wanted = fingerprint(POM)
    if stamp.is_file() and stamp.read_text() == wanted:
        return libs
    require_java()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StartupError("Maven (mvn) not found: it resolves the Kafka broker jars")
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=libs.parent, prefix="libs-"))
    run_checked(
        [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ],
        what="resolving the Kafka jars with Maven",
    )  # fmt: skip
    (staging / ".fingerprint").write_text(wanted)
    if libs.exists():
        shutil.rmtree(libs)
    staging.rename(libs)
    return libs


def kafka_uuid() -> str:
    """A random id as Kafka writes one (`StorageTool random-uuid`): 16 bytes in URL-safe base64
    without padding, never starting with '-', which its command-line tools would take for an
    option."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


@dataclass(frozen=True)
class Voter:
    """One controller of a cluster's quorum, as `StorageTool format --initial-controllers`
    names it: node id, controller endpoint and the id of its metadata log folder."""

    node_id: int
    controller_port: int
    directory_id: str

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.controller_port}"

    def __str__(self) -> str:
        return f"{self.node_id}@{self.endpoint}:{self.directory_id}"


@dataclass(frozen=True)
class Quorum:
    """What the nodes of one cluster share: its id and its controllers."""

    cluster_id: str
    voters: tuple[Voter, ...]


@dataclass(frozen=True)
class KafkaNode:
    """A combined broker and controller listening on loopback.

    Clients connect over SASL_SSL as one of `users` (name → password, `ADMIN` among them, its
    SCRAM credentials written when the storage is formatted); the broker reaches the controllers
    over mutual TLS as `CN=adminduk-kafka-broker`, and the other brokers over SASL_SSL as `ADMIN`.
    Both are super users; everyone else is allowed only what an ACL grants.

    Without a `quorum` the node is a cluster of its own; with one, node `node_id` of it, whose
    topics are replicated to every node and written once a majority of them has a record.
    """

    libs: Path
    data_dir: Path
    port: int
    controller_port: int
    users: Mapping[str, str] = field(repr=False)
    tls: BrokerTls
    node_id: int = 1
    quorum: Quorum | None = None
    max_heap: str = "768m"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def replicas(self) -> int:
        return 1 if self.quorum is None else len(self.quorum.voters)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    def _properties(self) -> str:
        tls = self.tls
        login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{self.users[ADMIN]}";'
        )
        controllers = (
            [f"127.0.0.1:{self.controller_port}"]
            if self.quorum is None
            else [voter.endpoint for voter in self.quorum.voters]
        )
        replicas = str(self.replicas)
        min_isr = str(min_insync_replicas(self.replicas))
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "listeners": (
                f"SASL_SSL://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "controller.quorum.bootstrap.servers": ",".join(controllers),
            "sasl.enabled.mechanisms": SCRAM_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SCRAM_MECHANISM,
            f"listener.name.sasl_ssl.{SCRAM_MECHANISM.lower()}.sasl.jaas.config": login,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_file),
            "listener.name.controller.ssl.client.auth": "required",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{ADMIN};User:CN={BROKER_NAME}",
            "allow.everyone.if.no.acl.found": "false",
            "log.dirs": str(self.data_dir / "log"),
            "auto.create.topics.enable": "false",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "group.initial.rebalance.delay.ms": "0",
            **({} if self.quorum is None else CLUSTER_SETTINGS),
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            require_java(), "-Xms256m", f"-Xmx{self.max_heap}", QUICK_COMPILER_ONLY,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp", f"{self.libs}/*", main_class, *args,
        ]  # fmt: skip

    def _users_fingerprint(self) -> str:
        listed = "\n".join(f"{name}:{password}" for name, password in sorted(self.users.items()))
        return hashlib.sha256(listed.encode()).hexdigest()

    def _format(self, config: Path) -> None:
        """Formats the storage with every user's SCRAM credentials, on first use only."""
        users_stamp = self.data_dir / "users.sha256"
        if (self.data_dir / "log" / "meta.properties").exists():
            if users_stamp.is_file() and users_stamp.read_text() == self._users_fingerprint():
                return
            raise StartupError(
                f"the Kafka storage in {self.data_dir} holds other users or passwords than the "
                "stack's secrets; remove that folder to start the broker afresh"
            )
        credentials = [
            argument
            for name, password in self.users.items()
            for argument in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]
        if self.quorum is None:
            cluster_id, controllers = kafka_uuid(), ["--standalone"]
        else:
            voters = ",".join(str(voter) for voter in self.quorum.voters)
            cluster_id, controllers = self.quorum.cluster_id, ["--initial-controllers", voters]
        run_checked(
            self._java(
                "kafka.tools.StorageTool", "format", *controllers,
                "-t", cluster_id, "-c", str(config), *credentials,
            ),
            what="formatting the Kafka storage",
        )  # fmt: skip
        users_stamp.write_text(self._users_fingerprint())

    def prepare(self) -> None:
        """Writes the node's configuration and formats its storage on first use."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls.ensure()
        config = self.data_dir / "server.properties"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self._properties())
        self._format(config)

    def launch(self) -> ManagedProcess:
        """Starts the prepared node without waiting for it (`wait_ready`), so that a cluster's
        nodes start together."""
        name = "Kafka" if self.quorum is None else f"Kafka node {self.node_id}"
        config = self.data_dir / "server.properties"
        process = ManagedProcess(
            name, self._java("kafka.Kafka", str(config)), log_path=self.log_path
        )
        process.start()
        return process

    def wait_ready(
        self, process: ManagedProcess, *, log_from: int, timeout: float = READY_TIMEOUT_S
    ) -> None:
        """Waits until the node serves clients: its port open and its log, from `log_from` on
        (the log is appended to across starts), saying so."""
        process.wait_until(
            lambda: (
                port_open(self.port) and "Kafka Server started" in _read(self.log_path, log_from)
            ),
            timeout=timeout,
            what="become ready",
        )

    def start(self) -> ManagedProcess:
        """Formats the storage on first use, starts the node, waits until it serves clients and,
        for a node of its own, puts every service's ACLs in place."""
        self.prepare()
        log_from = _size(self.log_path)
        process = self.launch()
        try:
            self.wait_ready(process, log_from=log_from)
            if self.quorum is None:
                grant_acls(self.bootstrap_servers, self.users[ADMIN], self.tls)
        except BaseException:
            process.stop()
            raise
        return process

    def restart(self) -> ManagedProcess:
        """Starts the stopped node again on its storage and waits until it serves clients."""
        log_from = _size(self.log_path)
        process = self.launch()
        try:
            self.wait_ready(process, log_from=log_from, timeout=RESTART_READY_TIMEOUT_S)
        except BaseException:
            process.stop()
            raise
        return process


class KafkaCluster:
    """Three (or `size`) combined brokers and controllers on loopback, each with its own ports
    and storage, sharing one certificate (one principal) and the users' credentials."""

    def __init__(
        self, *, libs: Path, data_dir: Path, users: Mapping[str, str], size: int = 3
    ) -> None:
        tls = BrokerTls(data_dir / "tls")
        quorum, ports = self._layout(data_dir / "cluster.json", size)
        self.users = users
        self.tls = tls
        self.nodes = {
            voter.node_id: KafkaNode(
                libs=libs,
                data_dir=data_dir / f"node-{voter.node_id}",
                port=port,
                controller_port=voter.controller_port,
                users=users,
                tls=tls,
                node_id=voter.node_id,
                quorum=quorum,
                max_heap="384m",
            )
            for voter, port in zip(quorum.voters, ports, strict=True)
        }
        self.processes: dict[int, ManagedProcess] = {}

    @staticmethod
    def _layout(path: Path, size: int) -> tuple[Quorum, list[int]]:
        """The quorum and client ports the cluster's storage was formatted for, kept in `path`
        so that the cluster starts again on the same folder; new ones the first time."""
        if path.is_file():
            saved = json.loads(path.read_text())
            voters = tuple(Voter(**voter) for voter in saved["voters"])
            if len(voters) != size:
                raise StartupError(
                    f"the Kafka cluster in {path.parent} has {len(voters)} brokers, not {size}; "
                    "remove that folder to start another"
                )
            return Quorum(saved["cluster_id"], voters), saved["ports"]
        quorum = Quorum(
            kafka_uuid(),
            tuple(Voter(node_id, free_port(), kafka_uuid()) for node_id in range(1, size + 1)),
        )
        ports = [free_port() for _ in quorum.voters]
        path.parent.mkdir(parents=True, exist_ok=True)
        saved = {
            "cluster_id": quorum.cluster_id,
            "voters": [dataclasses.asdict(voter) for voter in quorum.voters],
            "ports": ports,
        }
        path.write_text(json.dumps(saved))
        return quorum, ports

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes.values())

    def access(self, user: str = ADMIN) -> KafkaAccess:
        """A client's access to the whole cluster as `user`."""
        return KafkaAccess(
            self.bootstrap_servers,
            username=user,
            password=self.users[user],
            ca_file=self.tls.ca_file,
        )

    def start(self) -> None:
        """Formats and starts every node at once, waits until all serve clients and grants the
        services' ACLs; stops them all if any fails."""
        self.tls.ensure()
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(KafkaNode.prepare, self.nodes.values()))
        try:
            log_from = {node_id: _size(node.log_path) for node_id, node in self.nodes.items()}
            for node_id, node in self.nodes.items():
                self.processes[node_id] = node.launch()
            for node_id, node in self.nodes.items():
                node.wait_ready(self.processes[node_id], log_from=log_from[node_id])
            grant_acls(self.bootstrap_servers, self.users[ADMIN], self.tls)
        except BaseException:
            self.stop()
            raise

    def kill(self, node_id: int) -> None:
        """Ends one node at once with SIGKILL, as a crash or a lost machine would."""
        self.processes.pop(node_id).kill()

    def restart(self, *node_ids: int) -> None:
        """Starts stopped nodes again on their storage, all at once (a node alone cannot reach
        the quorum it needs the others for), and waits until each serves clients."""
        log_from = {node_id: _size(self.nodes[node_id].log_path) for node_id in node_ids}
        for node_id in node_ids:
            self.processes[node_id] = self.nodes[node_id].launch()
        for node_id in node_ids:
            self.nodes[node_id].wait_ready(
                self.processes[node_id], log_from=log_from[node_id], timeout=RESTART_READY_TIMEOUT_S
            )

    def stop(self) -> None:
        """Stops every node still running, together."""
        processes = list(self.processes.values())
        self.processes.clear()
        stop_all(processes, deadline=time.monotonic() + STOP_TIMEOUT_S)


def grant_acls(bootstrap_servers: str, admin_password: str, tls: BrokerTls) -> None:
    """The same command a deployment runs (`python -m services.kafka_acls`), as the admin."""
    env = dict(os.environ) | {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "KAFKA_ADMIN_USERNAME": ADMIN,
        "KAFKA_ADMIN_PASSWORD": admin_password,
        "KAFKA_CA_FILE": str(tls.ca_file),
    }
    run_checked(
        [sys.executable, "-m", "services.kafka_acls"],
        cwd=REPO_ROOT,
        env=env,
        what="granting the services' Kafka ACLs",
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read(path: Path, offset: int = 0) -> str:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
