"""The local stack's provisioning and process handling, without starting any engine."""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo.uri_parser import parse_uri

from devstack import ferretdb, kafka, postgres
from devstack.process import Account, ManagedProcess, StartupError, free_port, port_open
from devstack.stack import SERVICES, Ports, Stack


def python(code: str, tmp_path: Path) -> ManagedProcess:
    return ManagedProcess("probe", [sys.executable, "-c", code], log_path=tmp_path / "probe.log")


def test_a_process_that_exits_early_is_reported_with_its_log(tmp_path: Path) -> None:
    process = python("print('bad config'); raise SystemExit(3)", tmp_path)
    process.start()

    with pytest.raises(StartupError) as failure:
        process.wait_until(lambda: False, timeout=10, what="become ready")

    message = str(failure.value)
    assert "probe exited before become ready" in message
    assert str(tmp_path / "probe.log") in message
    assert "bad config" in message


def test_a_process_that_never_gets_ready_is_stopped_with_a_clear_error(tmp_path: Path) -> None:
    process = python("import time; time.sleep(60)", tmp_path)
    process.start()
    try:
        with pytest.raises(StartupError, match=r"probe did not become ready in 1 s; see "):
            process.wait_until(lambda: False, timeout=1, what="become ready")
    finally:
        process.stop()
    assert not process.running()


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    process = python(
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)",
        tmp_path,
    )
    process.start()
    process.wait_until(
        lambda: "ready" in (tmp_path / "probe.log").read_text(), timeout=10, what="start"
    )

    process.stop(timeout=0.5)

    assert process.returncode == -9


def test_stop_sends_the_process_its_own_stop_signal(tmp_path: Path) -> None:
    process = ManagedProcess(
        "probe",
        [sys.executable, "-c",
         "import signal, sys, time; signal.signal(signal.SIGINT, lambda *_: sys.exit(7)); "
         "print('ready', flush=True); time.sleep(60)"],
        log_path=tmp_path / "probe.log",
        stop_signal=signal.SIGINT,
    )  # fmt: skip
    process.start()
    process.wait_until(
        lambda: "ready" in (tmp_path / "probe.log").read_text(), timeout=10, what="start"
    )

    process.stop(timeout=10)

    assert process.returncode == 7


def test_free_ports_are_free() -> None:
    assert not port_open(free_port())


def test_java_versions_are_read_in_both_styles(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = iter(['openjdk version "17.0.15" 2025-04-15', 'java version "1.8.0_402"'])

    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 0, stdout="", stderr=next(outputs))

    monkeypatch.setattr(subprocess, "run", fake_run)

    assert kafka.java_major_version("java") == 17
    assert kafka.java_major_version("java") == 8


def test_missing_java_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    with pytest.raises(StartupError, match="Java 17 not found"):
        kafka.require_java()


def test_old_java_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java")
    monkeypatch.setattr(kafka, "java_major_version", lambda java: 11)

    with pytest.raises(StartupError, match="Java 17 not found"):
        kafka.require_java()


def test_kafka_ids_are_sixteen_bytes_that_no_tool_takes_for_an_option() -> None:
    ids = {kafka.kafka_uuid() for _ in range(200)}

    assert len(ids) == 200
    for text in ids:
        assert not text.startswith("-")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_a_clusters_nodes_share_its_quorum_and_replicate_to_a_majority(tmp_path: Path) -> None:
    cluster = kafka.KafkaCluster(libs=tmp_path, data_dir=tmp_path, users={kafka.ADMIN: "pw"})
    properties = [
        dict(line.split("=", 1) for line in node._properties().splitlines())
        for node in cluster.nodes.values()
    ]

    controllers = [node.controller_port for node in cluster.nodes.values()]
    clients = [node.port for node in cluster.nodes.values()]
    assert len({*controllers, *clients}) == 6
    assert [settings["node.id"] for settings in properties] == ["1", "2", "3"]
    for settings in properties:
        assert settings["controller.quorum.bootstrap.servers"] == ",".join(
            f"127.0.0.1:{port}" for port in controllers
        )
        assert settings["default.replication.factor"] == "3"
        assert settings["offsets.topic.replication.factor"] == "3"
        assert settings["transaction.state.log.replication.factor"] == "3"
        assert settings["min.insync.replicas"] == "2"
        assert settings["transaction.state.log.min.isr"] == "2"
    assert cluster.bootstrap_servers == ",".join(
        node.bootstrap_servers for node in cluster.nodes.values()
    )


def fake_postgresql(bindir: Path) -> None:
    bindir.mkdir(parents=True)
    for tool in ("initdb", "postgres", "psql"):
        (bindir / tool).write_text("#!/bin/sh\n")
        (bindir / tool).chmod(0o755)


def test_the_newest_debian_postgresql_is_used(tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        fake_postgresql(tmp_path / version / "bin")
    (tmp_path / "17" / "bin").mkdir(parents=True)

    assert postgres.find_bindir(tmp_path) == tmp_path / "15" / "bin"


def test_missing_postgresql_names_the_debian_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)

    with pytest.raises(StartupError, match=r"PostgreSQL not found.*apt-get install postgresql"):
        postgres.find_bindir(tmp_path / "nothing")


def test_postgresql_runs_as_its_system_user_when_we_are_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert postgres.server_account() is None

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    account = postgres.server_account()

    assert account is not None
    assert account.name in postgres.SERVER_USERS
    assert account.uid != 0


def test_without_a_postgres_user_nobody_runs_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    nobody = pwd.getpwnam("nobody")

    def getpwnam(name: str) -> pwd.struct_passwd:
        if name == "nobody":
            return nobody
        raise KeyError(name)

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(pwd, "getpwnam", getpwnam)

    account = postgres.server_account()

    assert account is not None
    assert (account.name, account.uid) == ("nobody", nobody.pw_uid)


def test_a_private_folder_stops_another_user_on_the_way_in(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    info = tmp_path.stat()
    owner = Account("owner", info.st_uid, info.st_gid)
    stranger = Account("stranger", info.st_uid + 4242, info.st_gid + 4242)

    blocked = postgres.unreachable_parent(private / "cluster", stranger)

    assert postgres.unreachable_parent(private / "cluster", owner) is None
    assert postgres.unreachable_parent(private / "cluster", None) is None
    assert blocked is not None
    assert blocked in (private, *private.parents)
    assert not blocked.stat().st_mode & stat.S_IXOTH


def test_the_cluster_trusts_loopback_only_and_keeps_fsync_on(tmp_path: Path) -> None:
    cluster = postgres.PostgresCluster(
        bindir=Path("/pg/bin"), home=tmp_path, port=5999, log_path=tmp_path / "postgres.log"
    )

    initdb = cluster.initdb_command(tmp_path / "data.new")
    server = cluster.server_command()

    assert initdb[:3] == ["/pg/bin/initdb", "-D", str(tmp_path / "data.new")]
    assert {"--auth=trust", "--encoding=UTF8", "--username=ferretdb"} <= set(initdb)
    assert server[:3] == ["/pg/bin/postgres", "-D", str(tmp_path / "data")]
    options = set(server[4::2])
    assert {"listen_addresses=127.0.0.1", "port=5999", "fsync=on"} <= options
    assert f"unix_socket_directories={tmp_path / 'socket'}" in options
    assert cluster.url == (
        f"postgres://ferretdb@/ferretdb?host={tmp_path / 'socket'}&port=5999&pool_max_conns=300"
        "&pool_max_conn_lifetime=10m&pool_max_conn_idle_time=1m&pool_health_check_period=2s"
    )


def test_services_reach_the_local_engine_through_its_unix_socket(tmp_path: Path) -> None:
    socket = tmp_path / "run dir" / "mongodb.sock"

    assert parse_uri(ferretdb.socket_url(socket))["nodelist"] == [(str(socket), None)]
    stack = Stack(tmp_path / "run", Ports())
    assert parse_uri(stack.mongo_url)["nodelist"] == [
        (str(tmp_path / "run" / "ferretdb" / "mongodb.sock"), None)
    ]


def test_a_socket_path_too_long_for_linux_is_refused_before_starting(tmp_path: Path) -> None:
    server = ferretdb.FerretDBServer(
        binary=tmp_path / "ferretdb",
        postgresql_url="postgres://ferretdb@/ferretdb",
        port=free_port(),
        socket=tmp_path / ("x" * 120) / "mongodb.sock",
        log_path=tmp_path / "ferretdb.log",
    )

    with pytest.raises(StartupError, match="over 107 bytes"):
        server.start()
    assert not (tmp_path / ("x" * 120)).exists()


def test_the_local_stack_names_its_services_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Services refuse to start without one; the stack's is development, whatever the shell
    exported, unless its caller names another."""
    monkeypatch.delenv("INTAKE_ENVIRONMENT", raising=False)
    monkeypatch.setenv("AUDIT_ENVIRONMENT", "production")
    stack = Stack(tmp_path, Ports(), service_env={"NOTIFY_ENVIRONMENT": "test"})

    environments = {
        name: stack.service_env(name)[f"{name.upper()}_ENVIRONMENT"] for name in SERVICES
    }

    assert environments == {
        "intake": "development",
        "processing": "development",
        "notify": "test",
        "audit": "development",
    }


def test_the_local_stack_points_intake_at_the_message_sinks_graph_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As notify's providers: so that a photo sent on WhatsApp is fetched on the stack itself."""
    monkeypatch.delenv("INTAKE_WHATSAPP_GRAPH_URL", raising=False)
    stack = Stack(tmp_path, Ports(message_sink=8109))

    graph_url = stack.service_env("intake")["INTAKE_WHATSAPP_GRAPH_URL"]

    assert graph_url == "http://127.0.0.1:8109/v21.0"
