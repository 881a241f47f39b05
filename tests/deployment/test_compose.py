"""docker-compose.yml is checked by the docker client here; running it needs a Docker engine."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import httpx
import pytest

from devstack.compose import compose_env
from devstack.paths import REPO_ROOT
from tests.e2e.conftest import SUBMISSION

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICES = {"intake", "processing", "notify", "audit"}
REQUIRED_SETTINGS = {
    "AUDIT_PSEUDONYM_KEY": "0f" * 32,
    "NOTIFY_PROVIDER_URL": "https://gateway.invalid",
    "NOTIFY_PROVIDER_TOKEN": "token-for-config-check",
}


@pytest.fixture(scope="module")
def docker_env() -> dict[str, str]:
    return compose_env()


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_compose_file_is_valid_and_wires_every_service(docker_env: dict[str, str]) -> None:
    result = compose_config({**docker_env, **REQUIRED_SETTINGS})

    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    assert set(services) == SERVICES | {"kafka", "mongo"}
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    for name in SERVICES:
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert "healthcheck" in service
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        prefix = name.upper()
        assert service["environment"][f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["environment"][f"{prefix}_ENVIRONMENT"] == "production"
    assert services["audit"]["environment"]["AUDIT_PSEUDONYM_KEY"] == "0f" * 32


@pytest.mark.parametrize("missing", sorted(REQUIRED_SETTINGS))
def test_compose_refuses_to_run_without_a_secret(docker_env: dict[str, str], missing: str) -> None:
    env = {
        key: value for key, value in {**docker_env, **REQUIRED_SETTINGS}.items() if key != missing
    }

    result = compose_config(env)

    assert result.returncode != 0
    assert missing in result.stderr


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return ["up --build --wait -d"]


@pytest.fixture(scope="session")
def docker_engine() -> None:
    result = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no answer"]
        pytest.skip(f"no Docker engine (`docker info` failed: {reason[0]})")


@pytest.mark.docker
def test_compose_stack_serves_a_request(
    docker_engine: None,
    monkeypatch: pytest.MonkeyPatch,
    docker_env: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    for key, value in REQUIRED_SETTINGS.items():
        monkeypatch.setenv(key, value)
    if "DOCKER_CONFIG" in docker_env:
        monkeypatch.setenv("DOCKER_CONFIG", docker_env["DOCKER_CONFIG"])
    docker_services = request.getfixturevalue("docker_services")
    intake = f"http://127.0.0.1:{docker_services.port_for('intake', 8000)}"
    audit = f"http://127.0.0.1:{docker_services.port_for('audit', 8000)}"

    response = httpx.post(f"{intake}/v1/requests", json=SUBMISSION, timeout=10)
    assert response.status_code == 202
    request_id = response.json()["request_id"]

    def audited() -> bool:
        entries = httpx.get(f"{audit}/v1/audit/entries", params={"subject": request_id}).json()
        return len(entries["entries"]) >= 2

    docker_services.wait_until_responsive(check=audited, timeout=60, pause=1)
