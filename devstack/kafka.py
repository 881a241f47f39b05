"""A single-node Apache Kafka 4 broker in KRaft mode, from Maven Central jars, secured as in
production: clients speak SASL_SSL with SCRAM-SHA-512, and KRaft's StandardAuthorizer lets each
user do only what its ACLs allow."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.paths import CACHE_DIR, PACKAGE_DIR, REPO_ROOT, fingerprint
from devstack.process import ManagedProcess, StartupError, port_open, run_checked
from devstack.tls import BROKER_NAME, BrokerTls
from shared.kafka import SCRAM_MECHANISM

POM = PACKAGE_DIR / "kafka" / "pom.xml"
LOG4J_CONFIG = PACKAGE_DIR / "kafka" / "log4j2.yaml"
MIN_JAVA = 17
READY_TIMEOUT_S = 60.0
ADMIN = "admin"
"""The super user that creates topics' ACLs; the services are users of their own."""


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


@dataclass(frozen=True)
class KafkaNode:
    """A combined broker and controller listening on loopback.

    Clients connect over SASL_SSL as one of `users` (name → password, `ADMIN` among them, its
    SCRAM credentials written when the storage is formatted); the broker reaches its controller
    over mutual TLS as `CN=adminduk-kafka-broker`. Both are super users; everyone else is
    allowed only what an ACL grants.
    """

    libs: Path
    data_dir: Path
    port: int
    controller_port: int
    users: Mapping[str, str] = field(repr=False)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def tls(self) -> BrokerTls:
        return BrokerTls(self.data_dir / "tls")

    def _properties(self) -> str:
        tls = self.tls
        login = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{ADMIN}" password="{self.users[ADMIN]}";'
        )
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": (
                f"SASL_SSL://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
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
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            require_java(), "-Xms256m", "-Xmx768m",
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
        cluster_id = subprocess.run(
            self._java("kafka.tools.StorageTool", "random-uuid"),
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        credentials = [
            argument
            for name, password in self.users.items()
            for argument in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]
        run_checked(
            self._java(
                "kafka.tools.StorageTool", "format", "--standalone",
                "-t", cluster_id, "-c", str(config), *credentials,
            ),
            what="formatting the Kafka storage",
        )  # fmt: skip
        users_stamp.write_text(self._users_fingerprint())

    def start(self) -> ManagedProcess:
        """Formats the storage on first use, starts the node, waits until it serves clients and
        puts every service's ACLs in place."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tls.ensure()
        config = self.data_dir / "server.properties"
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(self._properties())
        self._format(config)
        log_path = self.data_dir / "kafka.log"
        process = ManagedProcess("Kafka", self._java("kafka.Kafka", str(config)), log_path=log_path)
        process.start()
        try:
            process.wait_until(
                lambda: port_open(self.port) and "Kafka Server started" in _read(log_path),
                timeout=READY_TIMEOUT_S,
                what="become ready",
            )
            self._grant_acls()
        except BaseException:
            process.stop()
            raise
        return process

    def _grant_acls(self) -> None:
        """The same command a deployment runs (`python -m services.kafka_acls`), as the admin."""
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_ADMIN_USERNAME": ADMIN,
            "KAFKA_ADMIN_PASSWORD": self.users[ADMIN],
            "KAFKA_CA_FILE": str(self.tls.ca_file),
        }
        run_checked(
            [sys.executable, "-m", "services.kafka_acls"],
            cwd=REPO_ROOT,
            env=env,
            what="granting the services' Kafka ACLs",
        )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
