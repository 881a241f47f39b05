"""A single-node Apache Kafka 4 broker in KRaft mode, from Maven Central jars."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack.paths import CACHE_DIR, PACKAGE_DIR, fingerprint
from devstack.process import ManagedProcess, StartupError, port_open, run_checked

POM = PACKAGE_DIR / "kafka" / "pom.xml"
LOG4J_CONFIG = PACKAGE_DIR / "kafka" / "log4j2.yaml"
MIN_JAVA = 17
READY_TIMEOUT_S = 60.0


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
    """A combined broker and controller listening on loopback."""

    libs: Path
    data_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
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

    def start(self) -> ManagedProcess:
        """Formats the storage on first use, starts the node and waits until it serves clients."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(self._properties())
        if not (self.data_dir / "log" / "meta.properties").exists():
            cluster_id = subprocess.run(
                self._java("kafka.tools.StorageTool", "random-uuid"),
                capture_output=True, text=True, check=True,
            ).stdout.strip().splitlines()[-1]  # fmt: skip
            run_checked(
                self._java(
                    "kafka.tools.StorageTool", "format", "--standalone",
                    "-t", cluster_id, "-c", str(config),
                ),
                what="formatting the Kafka storage",
            )  # fmt: skip
        log_path = self.data_dir / "kafka.log"
        process = ManagedProcess("Kafka", self._java("kafka.Kafka", str(config)), log_path=log_path)
        process.start()
        try:
            process.wait_until(
                lambda: port_open(self.port) and "Kafka Server started" in _read(log_path),
                timeout=READY_TIMEOUT_S,
                what="become ready",
            )
        except BaseException:
            process.stop()
            raise
        return process


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
