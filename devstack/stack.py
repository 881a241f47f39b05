"""The whole backend on one machine: engines, message sink, token issuer and the four services."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import ferretdb, kafka, message_sink, postgres
from devstack.issuer import DEFAULT_PORT as ISSUER_PORT
from devstack.issuer import SigningKeys, load_or_create_keys, local_issuer_url, mint
from devstack.paths import REPO_ROOT
from devstack.process import ManagedProcess, free_port, stop_all
from devstack.tls import BrokerTls
from shared.config import local_secret
from shared.kafka import KafkaAccess
from shared.kafka_acls import AUDITORS

SERVICES = ("intake", "processing", "notify", "audit")
SERVICE_READY_TIMEOUT_S = 90.0
STOP_BUDGET_S = 12.0
"""How long a whole stop waits for processes to exit on their own; what still runs then is
killed, so that a stop ends within 20 s however many processes hang."""
ENGINE_STOP_ORDER = (("kafka", "ferretdb"), ("postgres",))
"""Stopped after everything else, which needs them to shut down cleanly; FerretDB before the
PostgreSQL it keeps its data in. A cluster's brokers (`kafka-2`) stop with `kafka`."""


def instance_name(service: str, index: int) -> str:
    """A service's first instance is named as the service, the others `intake-2`..."""
    return service if index == 1 else f"{service}-{index}"


def base_name(process: str) -> str:
    """What a process is an instance of: `intake` for `intake-2`, `kafka` for `kafka-3`."""
    name, _, number = process.rpartition("-")
    return name if name and number.isdigit() else process


@dataclass
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    mongo: int = 27017
    postgres: int = 55432
    message_sink: int = 8009
    message_sink_smtp: int = 8025
    """The loopback providers: WhatsApp Cloud API and SMS gateway over HTTP, SMTP."""
    issuer: int = ISSUER_PORT
    services: dict[str, int] = field(
        default_factory=lambda: {"intake": 8001, "processing": 8002, "notify": 8003, "audit": 8004}
    )

    @classmethod
    def free(cls) -> Ports:
        """Ports nothing listens on, so a test stack never meets a running one."""
        return cls(
            kafka=free_port(),
            kafka_controller=free_port(),
            mongo=free_port(),
            postgres=free_port(),
            message_sink=free_port(),
            message_sink_smtp=free_port(),
            issuer=free_port(),
            services={name: free_port() for name in SERVICES},
        )


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Stack:
    """Starts what it is asked to, in dependency order, and stops all of it in reverse."""

    def __init__(
        self,
        run_dir: Path,
        ports: Ports,
        *,
        kafka_bootstrap: str | None = None,
        mongo_url: str | None = None,
        service_env: Mapping[str, str] | None = None,
        instances: int = 1,
        kafka_brokers: int = 1,
    ) -> None:
        """`instances` processes of each service share its consumer groups; with more than one,
        each listens on a port of its own and a balancer serves the service's public port.
        `kafka_brokers` above one starts a KafkaCluster of that size instead of one node (and
        topics replicated to every broker); both are ignored for engines given from outside."""
        if instances < 1 or kafka_brokers < 1:
            raise ValueError("a stack runs at least one instance of each service and one broker")
        self.run_dir = run_dir
        self._extra_env = dict(service_env or {})
        self.ports = ports
        self.instances = instances
        self._external_kafka = kafka_bootstrap
        self._external_mongo = mongo_url
        self.processes: dict[str, ManagedProcess] = {}
        self.postgres_scratch: Path | None = None
        self._issuer_keys: SigningKeys | None = None
        self._instance_ports: dict[tuple[str, int], int] = {}
        self.kafka_brokers = kafka_brokers
        self._kafka_cluster: kafka.KafkaCluster | None = None
        self._kafka_node: kafka.KafkaNode | None = None

    @property
    def kafka_cluster(self) -> kafka.KafkaCluster | None:
        """The local brokers when there are several (set up on first use), else None."""
        if self._kafka_cluster is None and self.kafka_brokers > 1 and not self._external_kafka:
            self._kafka_cluster = kafka.KafkaCluster(
                libs=kafka.provision(),
                data_dir=self._kafka_dir,
                users=self._kafka_passwords(),
                size=self.kafka_brokers,
            )
        return self._kafka_cluster

    @property
    def kafka_bootstrap(self) -> str:
        if self._external_kafka is not None:
            return self._external_kafka
        if self.kafka_cluster is not None:
            return self.kafka_cluster.bootstrap_servers
        return f"127.0.0.1:{self.ports.kafka}"

    @property
    def secrets_dir(self) -> Path:
        """The local secrets every process of the stack shares, made on first use."""
        return self.run_dir / "secrets"

    @property
    def _kafka_dir(self) -> Path:
        return self.run_dir / "kafka"

    def _kafka_passwords(self) -> dict[str, str]:
        """A password for the admin, each service and the auditors; each the local secret the
        service itself reads (`INTAKE_KAFKA_PASSWORD`...)."""
        names = {
            kafka.ADMIN: "KAFKA_ADMIN_PASSWORD",
            AUDITORS: "KAFKA_AUDITOR_PASSWORD",
            **{service: f"{service.upper()}_KAFKA_PASSWORD" for service in SERVICES},
        }
        return {user: local_secret(self.secrets_dir, name) for user, name in names.items()}

    def kafka_access(self, user: str = kafka.ADMIN) -> KafkaAccess:
        """A client's access to the stack's Kafka as `user`: the admin unless told; plaintext to
        an external cluster."""
        if self._external_kafka is not None:
            return KafkaAccess(self._external_kafka)
        return KafkaAccess(
            self.kafka_bootstrap,
            username=user,
            password=self._kafka_passwords()[user],
            ca_file=BrokerTls(self._kafka_dir / "tls").ca_file,
        )

    @property
    def mongo_url(self) -> str:
        return self._external_mongo or ferretdb.socket_url(self._mongo_socket)

    @property
    def _mongo_socket(self) -> Path:
        return self.run_dir / "ferretdb" / "mongodb.sock"

    @property
    def message_sink_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.message_sink}"

    @property
    def issuer_url(self) -> str:
        return local_issuer_url(self.ports.issuer)

    @property
    def issuer_keys_dir(self) -> Path:
        return self.run_dir / "issuer"

    def service_url(self, name: str) -> str:
        """The service's public URL: its only instance, or the balancer in front of them."""
        return f"http://127.0.0.1:{self.ports.services[name]}"

    def instance_port(self, name: str, index: int) -> int:
        """The port instance `index` (from 1) of a service listens on: the public one when it is
        the only instance, else one of its own, kept across restarts."""
        if self.instances == 1 and index == 1:
            return self.ports.services[name]
        return self._instance_ports.setdefault((name, index), free_port())

    def instance_url(self, name: str, index: int) -> str:
        """One instance's own URL, past the balancer."""
        return f"http://127.0.0.1:{self.instance_port(name, index)}"

    def start_engines(self) -> None:
        """Provisions (once) and starts local PostgreSQL, FerretDB and Kafka, unless external
        ones are given."""
        if self._external_mongo is None:
            cluster = self._postgres_cluster()
            self.processes["postgres"] = cluster.start()
            cluster.run_script(ferretdb.TABLES_SQL)
            server = ferretdb.FerretDBServer(
                binary=ferretdb.provision(),
                postgresql_url=cluster.url,
                port=self.ports.mongo,
                socket=self._mongo_socket,
                log_path=self.run_dir / "ferretdb" / "ferretdb.log",
            )
            self.processes["ferretdb"] = server.start()
        if self.kafka_cluster is not None:
            self.kafka_cluster.start()
            self._hold_brokers()
        elif self._external_kafka is None:
            self._kafka_node = node = kafka.KafkaNode(
                libs=kafka.provision(),
                data_dir=self._kafka_dir,
                port=self.ports.kafka,
                controller_port=self.ports.kafka_controller,
                users=self._kafka_passwords(),
                tls=BrokerTls(self._kafka_dir / "tls"),
            )
            self.processes["kafka"] = node.start()

    def _hold_brokers(self) -> None:
        """Lists the cluster's broker processes as `kafka`, `kafka-2`...: stopped with the
        engines, and current after a broker was killed and started again."""
        assert self.kafka_cluster is not None
        for node_id, process in self.kafka_cluster.processes.items():
            self.processes[instance_name("kafka", node_id)] = process

    def kill_broker(self, node_id: int) -> None:
        """Ends one broker (node ids count from 1) with SIGKILL, as a lost machine would."""
        if self.kafka_cluster is not None:
            self.kafka_cluster.kill(node_id)
            return
        self._own_node(node_id)
        self.processes.pop("kafka").kill()

    def start_brokers(self, *node_ids: int) -> None:
        """Starts killed brokers again on their storage, together, and waits until they serve
        clients."""
        if self.kafka_cluster is not None:
            self.kafka_cluster.restart(*node_ids)
            self._hold_brokers()
            return
        for node_id in node_ids:
            self.processes["kafka"] = self._own_node(node_id).restart()

    def _own_node(self, node_id: int) -> kafka.KafkaNode:
        """The stack's single broker, the only node id 1."""
        if self._kafka_node is None or node_id != 1:
            raise ValueError(f"the stack runs no local broker {node_id}")
        return self._kafka_node

    def _postgres_cluster(self) -> postgres.PostgresCluster:
        """The cluster lives in the run folder, unless PostgreSQL's user cannot reach it (pytest's
        folders are private to root): then in a scratch folder that stop() removes."""
        account = postgres.server_account()
        home = self.run_dir / "postgres" / "cluster"
        if postgres.unreachable_parent(home, account) is not None:
            if self.postgres_scratch is None:
                self.postgres_scratch = Path(tempfile.mkdtemp(prefix="adminduk-postgres-"))
            home = self.postgres_scratch
        return postgres.PostgresCluster(
            bindir=postgres.find_bindir(),
            home=home,
            port=self.ports.postgres,
            log_path=self.run_dir / "postgres" / "postgres.log",
            account=account,
        )

    def start_message_sink(self) -> None:
        """Starts the loopback providers notify sends to, with the templates notify approves,
        and the Graph API intake fetches citizens' photos from, with intake's token."""
        command = [
            sys.executable,
            "-m",
            "devstack.message_sink",
            f"--port={self.ports.message_sink}",
            f"--smtp-port={self.ports.message_sink_smtp}",
        ]
        if templates := self.service_env("notify").get("NOTIFY_TEMPLATES_FILE"):
            command.append(f"--templates={templates}")
        graph_token = self.service_secret("INTAKE_WHATSAPP_ACCESS_TOKEN")
        process = ManagedProcess(
            "message sink",
            command,
            log_path=self.run_dir / "logs" / "message_sink.log",
            env=os.environ | {message_sink.GRAPH_TOKEN_VARIABLE: graph_token},
            cwd=REPO_ROOT,
        )
        process.start()
        self.processes["message_sink"] = process
        process.wait_until(
            lambda: http_ok(f"{self.message_sink_url}/healthz"),
            timeout=SERVICE_READY_TIMEOUT_S,
            what="answer /healthz",
        )

    def start_issuer(self) -> None:
        """Starts the token issuer, making its key here first so that `mint_token` signs with it."""
        self.issuer_keys()
        process = ManagedProcess(
            "issuer",
            [
                sys.executable,
                "-m",
                "devstack.issuer",
                f"--port={self.ports.issuer}",
                f"--keys-dir={self.issuer_keys_dir}",
                f"--issuer={self.issuer_url}",
            ],
            log_path=self.run_dir / "logs" / "issuer.log",
            cwd=REPO_ROOT,
        )
        process.start()
        self.processes["issuer"] = process
        process.wait_until(
            lambda: http_ok(f"{self.issuer_url}/healthz"),
            timeout=SERVICE_READY_TIMEOUT_S,
            what="answer /healthz",
        )

    def issuer_keys(self) -> SigningKeys:
        """The issuer's signing key, created on first use."""
        if self._issuer_keys is None:
            self._issuer_keys = load_or_create_keys(self.issuer_keys_dir)
        return self._issuer_keys

    def mint_token(self, role: str, **claims: Any) -> str:
        """A token from the local issuer for one role; `claims` are `mint`'s keywords."""
        subject = claims.pop("subject", f"{role}-test")
        return mint(
            self.issuer_keys(), issuer=self.issuer_url, subject=subject, roles=[role], **claims
        )

    def service_env(self, name: str) -> dict[str, str]:
        """A service's variables: the stack's own over the caller's environment. The environment
        is `development` (local secrets, the local issuer) unless `service_env` names another."""
        prefix = name.upper()
        env = dict(os.environ) | {f"{prefix}_ENVIRONMENT": "development"} | self._extra_env
        env.update(
            {
                f"{prefix}_HTTP_PORT": str(self.ports.services[name]),
                f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                f"{prefix}_MONGO_URL": self.mongo_url,
                f"{prefix}_LOCAL_SECRETS_DIR": str(self.secrets_dir),
                f"{prefix}_OIDC_ISSUER": self.issuer_url,
            }
        )
        if self._external_kafka is None:
            env[f"{prefix}_KAFKA_REPLICATION_FACTOR"] = str(self.kafka_brokers)
            env[f"{prefix}_KAFKA_SECURITY_PROTOCOL"] = "SASL_SSL"
            env[f"{prefix}_KAFKA_CA_FILE"] = str(BrokerTls(self._kafka_dir / "tls").ca_file)
        else:
            env.setdefault(f"{prefix}_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        if name == "notify":
            env.setdefault("NOTIFY_WHATSAPP_BASE_URL", self.message_sink_url)
            env.setdefault("NOTIFY_SMS_GATEWAY_URL", self.message_sink_url)
            if "NOTIFY_SMTP_HOST" not in env:
                env["NOTIFY_SMTP_HOST"] = "127.0.0.1"
                env["NOTIFY_SMTP_PORT"] = str(self.ports.message_sink_smtp)
                env["NOTIFY_SMTP_TLS"] = "none"
        if name == "intake":
            env.setdefault("INTAKE_WHATSAPP_GRAPH_URL", self.whatsapp_graph_url)
        return env

    @property
    def whatsapp_graph_url(self) -> str:
        """The message sink's Graph API, which serves the media put into it (`POST /v1/media`)."""
        return f"{self.message_sink_url}/v21.0"

    def service_secret(self, name: str) -> str:
        """A service's secret as it reads it, e.g. INTAKE_WHATSAPP_APP_SECRET: configured, or
        generated in the stack's local secrets folder; for tests that play the party who
        shares it (the WhatsApp provider signing its webhooks)."""
        service = name.split("_", 1)[0].lower()
        return self.service_env(service).get(name) or local_secret(self.secrets_dir, name)

    def start_service(self, name: str) -> None:
        """Starts the service's instances, and their balancer when there are several, and
        waits until each says ready on `/readyz`."""
        indexes = range(1, self.instances + 1)
        for index in indexes:
            self._launch_instance(name, index)
        for index in indexes:
            self._wait_instance_ready(name, index)
        if self.instances > 1:
            self._start_balancer(name, indexes)

    def start_instance(self, name: str, index: int) -> None:
        """Starts one instance of a service (again, after `kill_instance`) on its port and waits
        until it is ready; an index beyond the stack's `instances` adds one (the balancer does
        not know it)."""
        self._launch_instance(name, index)
        self._wait_instance_ready(name, index)

    def kill_instance(self, name: str, index: int) -> None:
        """Ends one instance of a service at once with SIGKILL, as a crash would."""
        self.processes[instance_name(name, index)].kill()

    def _launch_instance(self, name: str, index: int) -> None:
        process_name = instance_name(name, index)
        env = self.service_env(name)
        env[f"{name.upper()}_HTTP_PORT"] = str(self.instance_port(name, index))
        process = ManagedProcess(
            process_name,
            [sys.executable, "-m", f"services.{name}"],
            log_path=self.run_dir / "logs" / f"{process_name}.log",
            env=env,
            cwd=REPO_ROOT,
        )
        process.start()
        self.processes[process_name] = process

    def _wait_instance_ready(self, name: str, index: int) -> None:
        self.processes[instance_name(name, index)].wait_until(
            lambda: http_ok(f"{self.instance_url(name, index)}/readyz"),
            timeout=SERVICE_READY_TIMEOUT_S,
            what="become ready",
        )

    def _start_balancer(self, name: str, indexes: range) -> None:
        """The service's public port, spread over its instances (`devstack/balancer.py`)."""
        port = self.ports.services[name]
        process = ManagedProcess(
            f"{name} balancer",
            [
                sys.executable,
                "-m",
                "devstack.balancer",
                f"--port={port}",
                *(f"--backend=127.0.0.1:{self.instance_port(name, i)}" for i in indexes),
            ],
            log_path=self.run_dir / "logs" / f"{name}_balancer.log",
            cwd=REPO_ROOT,
        )
        process.start()
        self.processes[f"{name} balancer"] = process
        process.wait_until(
            lambda: http_ok(f"{self.service_url(name)}/healthz"),
            timeout=SERVICE_READY_TIMEOUT_S,
            what="answer /healthz",
        )

    def start_all(self) -> None:
        self.start_engines()
        self.start_message_sink()
        self.start_issuer()
        for name in SERVICES:
            self.start_service(name)

    def stop(self, names: list[str] | None = None) -> None:
        """Stops the named processes (all by default) within STOP_BUDGET_S: the services, the
        message sink and the issuer together, then the engines in ENGINE_STOP_ORDER; each of
        these steps gets an equal share of the time the steps before it left."""
        if self._kafka_cluster is not None:
            self._hold_brokers()
        chosen = [name for name in reversed(self.processes) if names is None or name in names]
        engines = {name for step in ENGINE_STOP_ORDER for name in step}
        steps = [
            [name for name in chosen if base_name(name) not in engines],
            *([name for name in chosen if base_name(name) in step] for step in ENGINE_STOP_ORDER),
        ]
        steps = [step for step in steps if step]
        deadline = time.monotonic() + STOP_BUDGET_S
        for index, step in enumerate(steps):
            now = time.monotonic()
            share = (deadline - now) / (len(steps) - index)
            stop_all([self.processes.pop(name) for name in step], deadline=now + share)
        if self.postgres_scratch is not None and "postgres" not in self.processes:
            shutil.rmtree(self.postgres_scratch)
            self.postgres_scratch = None

    def urls(self) -> dict[str, str]:
        """What `scripts/run` prints: each service's public URL and, when there are several,
        each instance's own."""
        urls: dict[str, str] = {}
        for name in SERVICES:
            urls[name] = self.service_url(name)
            if self.instances > 1:
                for index in range(1, self.instances + 1):
                    urls[f"  {name}-{index}"] = self.instance_url(name, index)
        urls["message sink"] = self.message_sink_url
        urls["sink (SMTP)"] = f"smtp://127.0.0.1:{self.ports.message_sink_smtp}"
        urls["issuer"] = self.issuer_url
        urls["kafka"] = self.kafka_bootstrap
        urls["mongodb"] = self.mongo_url
        return urls
