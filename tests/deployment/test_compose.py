"""docker-compose.yml and the Keycloak realm it imports.

The docker client checks the compose file (`docker compose config` needs no engine) and the realm
file is read as Keycloak imports it; running the whole stack needs a Docker engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from devstack.compose import compose_env
from devstack.paths import REPO_ROOT
from devstack.tls import BrokerTls
from services.audit.entrypoints import consumer as audit_consumer
from services.intake.entrypoints import consumer as intake_consumer
from services.notify.adapters.staff_contacts_file import SAMPLE_STAFF_DIRECTORY
from services.notify.entrypoints import consumer as notify_consumer
from services.processing.entrypoints import consumer as processing_consumer
from shared.events.sealing import needed_topics
from shared.kafka import min_insync_replicas
from shared.recipient_crypto import RecipientOpener
from tests.e2e.conftest import SUBMISSION

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
REALM_FILE = REPO_ROOT / "deploy" / "keycloak" / "realm-adminduk.json"
KAFKA_START_SCRIPT = REPO_ROOT / "deploy" / "kafka" / "start.sh"
MONGO_INIT_SCRIPT = REPO_ROOT / "deploy" / "mongo" / "init-replica-set.js"
PROXY_CONFIG = REPO_ROOT / "deploy" / "haproxy" / "haproxy.cfg"
AUDIT_STAFF_DIRECTORY = Path(__file__).with_name("audit_staff_directory.json")
SERVICES = {"intake", "processing", "notify", "audit"}
STAFF_ROLES = {
    "village_operator",
    "counter_officer",
    "verifier",
    "operator",
    "signer",
    "supervisor",
    "letter_clerk",
    "auditor",
    "admin",
}
ATTRIBUTE_CLAIMS = {"village", "service_point", "phone_number"}
AUDIENCE = "adminduk"
CONSOLE = "adminduk-console"
USER_PROFILE = "org.keycloak.userprofile.UserProfileProvider"


def _hex_key(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


CITIZEN_KEY = Ed25519PrivateKey.generate()


SERVICE_KEYS = {
    f"{name.upper()}_{kind}": _hex_key(f"{name} {kind}")
    for name in sorted(SERVICES)
    for kind in ("DATA_KEYS", "LOOKUP_KEY")
}
KAFKA_PASSWORDS = {
    name: _hex_key(name)[:48]
    for name in (
        "KAFKA_ADMIN_PASSWORD",
        "KAFKA_AUDITOR_PASSWORD",
        *(f"{service.upper()}_KAFKA_PASSWORD" for service in sorted(SERVICES)),
    )
}
TOPIC_KEYS = {
    f"TOPIC_KEYS_{topic}": _hex_key(f"topic {topic}")
    for topic in (
        "REQUESTS",
        "APPOINTMENTS",
        "COMPLAINTS",
        "CONVERSATIONS",
        "IDENTITY",
        "CASES",
        "LETTERS",
        "INTEGRITY",
    )
}
SIGN_IN_CODE_KEY = _hex_key("notify sign-in code")
REQUIRED_SETTINGS = {
    "KEYCLOAK_ADMIN_PASSWORD": "admin-password-for-config-check",
    "AUDIT_PSEUDONYM_KEY": "0f" * 32,
    "AUDIT_CHECKPOINT_KEY": "1e" * 32,
    "NOTIFY_WHATSAPP_PHONE_NUMBER_ID": "106540352242922",
    "NOTIFY_WHATSAPP_ACCESS_TOKEN": "whatsapp-token-for-config-check",
    "NOTIFY_SMS_GATEWAY_URL": "https://sms-gateway.invalid",
    "NOTIFY_SMS_GATEWAY_TOKEN": "sms-token-for-config-check",
    "NOTIFY_SMTP_HOST": "smtp.invalid",
    "NOTIFY_SMTP_FROM": "Dispendukcapil <noreply@adminduk.invalid>",
    "NOTIFY_SURVEY_URL": "https://survey.invalid/adminduk",
    "NOTIFY_SMS_REPORT_SECRET": "sms-report-secret-for-config-check",
    "NOTIFY_CITIZEN_TOKEN_KEY": CITIZEN_KEY.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode(),
    "NOTIFY_STAFF_DIRECTORY_FILE": str(SAMPLE_STAFF_DIRECTORY),
    "AUDIT_STAFF_DIRECTORY_FILE": str(AUDIT_STAFF_DIRECTORY),
    "INTAKE_CITIZEN_SIGNING_KEY": CITIZEN_KEY.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    ).decode(),
    "INTAKE_WHATSAPP_APP_SECRET": "app-secret-for-config-check",
    "INTAKE_WHATSAPP_VERIFY_TOKEN": "verify-token-for-config-check",
    "INTAKE_WHATSAPP_ACCESS_TOKEN": "access-token-for-config-check",
    "INTAKE_SMS_WEBHOOK_SECRET": "sms-secret-for-config-check",
    "INTAKE_TRUSTED_PROXIES": "172.16.0.0/12",
    "KAFKA_TLS_DIR": "/etc/adminduk-kafka-tls",
    **SERVICE_KEYS,
    **KAFKA_PASSWORDS,
    "NOTIFY_SIGN_IN_CODE_KEYS": SIGN_IN_CODE_KEY,
    "INTAKE_SIGN_IN_CODE_KEY": RecipientOpener.from_hex(SIGN_IN_CODE_KEY).sealer.public_key_hex,
    **SERVICE_KEYS,
    **TOPIC_KEYS,
}


@pytest.fixture(scope="module")
def docker_env() -> dict[str, str]:
    return compose_env()


def compose_config(
    env: dict[str, str], *, profiles: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    chosen = [argument for profile in profiles for argument in ("--profile", profile)]
    return subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), *chosen, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def services(docker_env: dict[str, str]) -> dict[str, Any]:
    """The services as Compose runs them, with every required setting given."""
    result = compose_config({**docker_env, **REQUIRED_SETTINGS})
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = json.loads(result.stdout)["services"]
    return resolved


@pytest.fixture(scope="module")
def scale(docker_env: dict[str, str]) -> dict[str, Any]:
    """The services as the `scale` profile runs them, the default ones among them."""
    result = compose_config({**docker_env, **REQUIRED_SETTINGS}, profiles=("scale",))
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = json.loads(result.stdout)["services"]
    return resolved


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return loaded


def configs(client: dict[str, Any], mapper_type: str) -> list[dict[str, str]]:
    """The config of each of the client's protocol mappers of one type."""
    return [
        mapper["config"]
        for mapper in client.get("protocolMappers", [])
        if mapper["protocolMapper"] == mapper_type
    ]


def user_profile(realm: dict[str, Any]) -> dict[str, Any]:
    """The declarative user profile, which the realm keeps as JSON text inside its JSON."""
    (provider,) = realm["components"][USER_PROFILE]
    (text,) = provider["config"]["kc.user.profile.config"]
    profile: dict[str, Any] = json.loads(text)
    return profile


def test_compose_file_is_valid_and_wires_every_service(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES | {"kafka", "kafka-acls", "mongo", "keycloak"}
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    for name in SERVICES:
        service = services[name]
        assert service["command"] == ["python", "-m", f"services.{name}"]
        assert "healthcheck" in service
        for engine in ("mongo", "keycloak"):
            assert service["depends_on"][engine]["condition"] == "service_healthy"
        acls = service["depends_on"]["kafka-acls"]["condition"]
        assert acls == "service_completed_successfully"
        prefix = name.upper()
        assert service["environment"][f"{prefix}_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["environment"][f"{prefix}_ENVIRONMENT"] == "production"
    assert services["audit"]["environment"]["AUDIT_PSEUDONYM_KEY"] == "0f" * 32
    assert services["audit"]["environment"]["AUDIT_CHECKPOINT_KEY"] == "1e" * 32


def test_each_staff_directory_is_mounted_read_only_where_its_service_reads_it(
    services: dict[str, Any],
) -> None:
    for name, source in (("notify", SAMPLE_STAFF_DIRECTORY), ("audit", AUDIT_STAFF_DIRECTORY)):
        mount, _ = services[name]["volumes"]
        assert Path(mount["source"]) == source
        assert mount["target"] == services[name]["environment"][f"{name.upper()}_STAFF_DIRECTORY"]
        assert mount["read_only"] is True


def test_every_service_trusts_staff_tokens_of_the_realm(
    services: dict[str, Any], realm: dict[str, Any]
) -> None:
    keycloak = services["keycloak"]
    public_url = keycloak["environment"]["KC_HOSTNAME"]
    (port,) = keycloak["ports"]
    issuer = f"{public_url}/realms/{realm['realm']}"
    jwks_url = (
        f"http://keycloak:{port['target']}/realms/{realm['realm']}/protocol/openid-connect/certs"
    )

    for name in SERVICES:
        environment = services[name]["environment"]
        prefix = name.upper()
        assert environment[f"{prefix}_OIDC_ISSUER"] == issuer
        assert environment[f"{prefix}_OIDC_JWKS_URL"] == jwks_url
        assert environment[f"{prefix}_OIDC_AUDIENCE"] == AUDIENCE


def test_every_service_gets_its_own_keys_from_the_environment(services: dict[str, Any]) -> None:
    for name in SERVICES:
        environment = services[name]["environment"]
        for kind in ("DATA_KEYS", "LOOKUP_KEY"):
            variable = f"{name.upper()}_{kind}"
            assert environment[variable] == SERVICE_KEYS[variable]

    pem = services["intake"]["environment"]["INTAKE_CITIZEN_SIGNING_KEY"]
    assert pem == REQUIRED_SETTINGS["INTAKE_CITIZEN_SIGNING_KEY"]
    assert isinstance(load_pem_private_key(pem.encode(), password=None), Ed25519PrivateKey)
    for name in SERVICES - {"intake"}:
        assert "INTAKE_CITIZEN_SIGNING_KEY" not in services[name]["environment"]


def test_every_kafka_client_speaks_sasl_ssl_as_its_own_user(services: dict[str, Any]) -> None:
    """The broker takes nothing else, and each service is known to it by its own password."""
    acls = services["kafka-acls"]
    assert acls["command"] == ["python", "-m", "services.kafka_acls"]
    assert acls["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert acls["environment"]["KAFKA_ADMIN_PASSWORD"] == KAFKA_PASSWORDS["KAFKA_ADMIN_PASSWORD"]
    broker = services["kafka"]["environment"]
    assert set(KAFKA_PASSWORDS) <= set(broker)
    for name in SERVICES:
        environment = services[name]["environment"]
        prefix = name.upper()
        password = f"{prefix}_KAFKA_PASSWORD"
        assert environment[password] == KAFKA_PASSWORDS[password] == broker[password]
        assert f"{prefix}_KAFKA_SECURITY_PROTOCOL" not in environment
        ca = environment[f"{prefix}_KAFKA_CA_FILE"]
        mounts = {mount["target"]: mount for mount in services[name]["volumes"]}
        assert mounts[ca]["source"] == f"{REQUIRED_SETTINGS['KAFKA_TLS_DIR']}/ca.pem"
        assert mounts[ca]["read_only"] is True
        others = {f"{other.upper()}_KAFKA_PASSWORD" for other in SERVICES - {name}}
        assert not others & set(environment)


def test_every_service_gets_the_keys_of_the_topics_it_writes_or_reads(
    services: dict[str, Any],
) -> None:
    handled = {
        "intake": intake_consumer.subscription.events,
        "processing": processing_consumer.subscription.events,
        "notify": notify_consumer.subscription.events,
        "audit": audit_consumer.subscription.events,
    }
    for name in SERVICES:
        configured = json.loads(services[name]["environment"][f"{name.upper()}_TOPIC_KEYS"])
        assert set(configured) == set(needed_topics(name, handled[name]))
        for topic, keys in configured.items():
            variable = f"TOPIC_KEYS_{topic.split('.')[1].upper()}"
            assert keys == TOPIC_KEYS[variable]

    assert services["notify"]["environment"]["NOTIFY_SIGN_IN_CODE_KEYS"] == SIGN_IN_CODE_KEY
    for name in SERVICES - {"notify"}:
        assert "NOTIFY_SIGN_IN_CODE_KEYS" not in services[name]["environment"]


def test_intake_counts_clients_by_the_address_its_tls_proxy_forwards(
    services: dict[str, Any],
) -> None:
    environment = services["intake"]["environment"]

    assert environment["INTAKE_TRUSTED_PROXIES"] == REQUIRED_SETTINGS["INTAKE_TRUSTED_PROXIES"]
    assert environment["INTAKE_ENVIRONMENT"] == "production"


@pytest.mark.parametrize("missing", sorted(REQUIRED_SETTINGS))
def test_compose_refuses_to_run_without_a_secret(docker_env: dict[str, str], missing: str) -> None:
    env = {
        key: value for key, value in {**docker_env, **REQUIRED_SETTINGS}.items() if key != missing
    }

    result = compose_config(env)

    assert result.returncode != 0
    assert missing in result.stderr


def test_keycloak_is_pinned_and_imports_the_realm(services: dict[str, Any]) -> None:
    keycloak = services["keycloak"]
    environment = keycloak["environment"]

    assert re.fullmatch(r"quay\.io/keycloak/keycloak:26\.\d+\.\d+", keycloak["image"])
    assert keycloak["command"] == ["start-dev", "--import-realm"]
    (realm_mount,) = [volume for volume in keycloak["volumes"] if volume["type"] == "bind"]
    assert Path(realm_mount["source"]) == REALM_FILE.parent
    assert realm_mount["target"] == "/opt/keycloak/data/import"
    assert realm_mount["read_only"] is True
    admin_password = REQUIRED_SETTINGS["KEYCLOAK_ADMIN_PASSWORD"]
    assert environment["KC_BOOTSTRAP_ADMIN_PASSWORD"] == admin_password
    assert environment["KC_HEALTH_ENABLED"] == "true"
    assert "/health/ready" in " ".join(keycloak["healthcheck"]["test"])
    (port,) = keycloak["ports"]
    assert port["host_ip"] == "127.0.0.1"
    assert urlsplit(environment["KC_HOSTNAME"]).port == int(port["published"])


def test_realm_defines_exactly_the_staff_roles(realm: dict[str, Any]) -> None:
    roles = realm["roles"]["realm"]

    assert {role["name"] for role in roles} == STAFF_ROLES
    assert not any(role.get("composite") for role in roles)
    assert "client" not in realm["roles"]


def test_every_client_puts_the_claims_the_services_read(realm: dict[str, Any]) -> None:
    assert {client["clientId"] for client in realm["clients"]} >= {CONSOLE}
    for client in realm["clients"]:
        (roles,) = configs(client, "oidc-usermodel-realm-role-mapper")
        assert roles["claim.name"] == "roles"
        assert roles["multivalued"] == "true"
        assert roles["access.token.claim"] == "true"
        attributes = configs(client, "oidc-usermodel-attribute-mapper")
        assert {config["claim.name"] for config in attributes} == ATTRIBUTE_CLAIMS
        for config in attributes:
            assert config["user.attribute"] == config["claim.name"]
            assert config["access.token.claim"] == "true"
            assert config["multivalued"] == "false"
        (audience,) = configs(client, "oidc-audience-mapper")
        assert audience["included.custom.audience"] == AUDIENCE
        assert audience["access.token.claim"] == "true"


def test_only_the_staff_roles_reach_the_roles_claim(realm: dict[str, Any]) -> None:
    """Keycloak's own roles (default-roles-adminduk, offline_access) stay out of the token."""
    scoped = {mapping["client"]: set(mapping["roles"]) for mapping in realm["scopeMappings"]}

    for client in realm["clients"]:
        assert client["fullScopeAllowed"] is False
        assert scoped[client["clientId"]] == STAFF_ROLES


def test_clients_keep_keycloaks_built_in_scopes(realm: dict[str, Any]) -> None:
    """Declaring any client scope stops Keycloak creating `basic` (sub) and `profile` (name)."""
    assert "clientScopes" not in realm
    for client in realm["clients"]:
        assert "defaultClientScopes" not in client
        assert "optionalClientScopes" not in client


def test_clients_are_public_without_secrets_or_service_accounts(realm: dict[str, Any]) -> None:
    for client in realm["clients"]:
        assert client["publicClient"] is True
        assert "secret" not in client
        assert client["serviceAccountsEnabled"] is False
        assert client["directAccessGrantsEnabled"] is False
        assert client["implicitFlowEnabled"] is False


def test_staff_console_signs_in_with_code_flow_and_pkce(realm: dict[str, Any]) -> None:
    (console,) = [client for client in realm["clients"] if client["clientId"] == CONSOLE]

    assert console["standardFlowEnabled"] is True
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert console["redirectUris"]
    for uri in console["redirectUris"]:
        assert urlsplit(uri).hostname in {"localhost", "127.0.0.1"}


def test_access_tokens_are_short_lived(realm: dict[str, Any]) -> None:
    assert 300 <= realm["accessTokenLifespan"] <= 900
    for client in realm["clients"]:
        assert "access.token.lifespan" not in client.get("attributes", {})


def test_realm_holds_no_users_and_no_credentials(realm: dict[str, Any]) -> None:
    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {key for item in value.values() for key in keys(item)}
        if isinstance(value, list):
            return {key for item in value for key in keys(item)}
        return set()

    assert "users" not in realm
    assert not keys(realm) & {"credentials", "password", "secret", "privateKey"}


def test_user_profile_lets_only_admins_set_village_service_point_and_phone(
    realm: dict[str, Any],
) -> None:
    profile = user_profile(realm)
    attributes = {attribute["name"]: attribute for attribute in profile["attributes"]}

    assert {"username", "email", "firstName", "lastName"} <= set(attributes)
    assert "unmanagedAttributePolicy" not in profile
    for name in ATTRIBUTE_CLAIMS:
        assert attributes[name]["permissions"]["edit"] == ["admin"]
        assert attributes[name]["multivalued"] is False
    village = re.compile(attributes["village"]["validations"]["pattern"]["pattern"])
    service_point = re.compile(attributes["service_point"]["validations"]["pattern"]["pattern"])
    assert village.fullmatch("3516092001")
    assert not village.fullmatch("35160900")
    for code in ("KANTOR_DINAS", "MPP_MOJOKERTO", "KEC_MOJOSARI"):
        assert service_point.fullmatch(code)
    assert not service_point.fullmatch("kantor dinas")
    phone = re.compile(attributes["phone_number"]["validations"]["pattern"]["pattern"])
    assert phone.fullmatch("+6281234567890")
    assert not phone.fullmatch("081234567890")


def scale_instances(scale: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """The `scale` profile's instances of one service, by name."""
    return {
        instance: service
        for instance, service in scale.items()
        if service.get("profiles") == ["scale"]
        and service.get("command") == ["python", "-m", f"services.{name}"]
    }


def scale_brokers(scale: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in scale.items()
        if service["image"].startswith("apache/kafka:") and service.get("profiles") == ["scale"]
    }


def scale_mongo_members(scale: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in scale.items()
        if service["image"].startswith("mongo:") and "--replSet" in (service["command"] or [])
    }


def broker_start(environment: dict[str, str], run_dir: Path) -> tuple[dict[str, str], str]:
    """Runs deploy/kafka/start.sh with a broker's environment as its container does, the image's
    Kafka tools replaced by stubs: the node's server.properties and the cluster id it was
    formatted with."""
    tools = run_dir / "bin"
    tools.mkdir(parents=True)
    calls = run_dir / "calls"
    for tool in ("kafka-storage.sh", "kafka-server-start.sh"):
        stub = tools / tool
        stub.write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "{calls}"\n'
            'if [ "$1" = random-uuid ]; then echo generated-cluster-id; fi\n'
        )
        stub.chmod(0o755)
    script = (
        KAFKA_START_SCRIPT.read_text()
        .replace("/tmp/", f"{run_dir}/")
        .replace("/opt/kafka/bin/", f"{tools}/")
    )
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = (run_dir / "server.properties").read_text().splitlines()
    properties = dict(line.split("=", 1) for line in lines if "=" in line)
    (format_call,) = [line.split() for line in calls.read_text().splitlines() if " format " in line]
    return properties, format_call[format_call.index("-t") + 1]


def proxy_config() -> dict[str, dict[str, list[str]]]:
    """HAProxy's sections (`frontend intake`, `backend intake`...), each its directives'
    arguments by keyword."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in PROXY_CONFIG.read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if not line[0].isspace():
            current = sections.setdefault(" ".join(words), {})
        else:
            current.setdefault(words[0], []).append(" ".join(words[1:]))
    return sections


def test_the_single_broker_starts_as_before(services: dict[str, Any], tmp_path: Path) -> None:
    properties, _ = broker_start(services["kafka"]["environment"], tmp_path)

    assert properties["node.id"] == "1"
    assert properties["controller.quorum.voters"] == "1@kafka:9093"
    assert properties["advertised.listeners"] == "SASL_SSL://kafka:9092"
    for replicas in ("default.replication.factor", "offsets.topic.replication.factor"):
        assert properties[replicas] == "1"
    assert properties["min.insync.replicas"] == properties["transaction.state.log.min.isr"] == "1"


def test_scale_profile_runs_three_kafka_nodes_in_one_quorum(
    scale: dict[str, Any], tmp_path: Path
) -> None:
    brokers = scale_brokers(scale)
    started = {
        name: broker_start(broker["environment"], tmp_path / name)
        for name, broker in brokers.items()
    }

    assert set(brokers) == {"kafka-1", "kafka-2", "kafka-3"}
    node_ids = {properties["node.id"] for properties, _ in started.values()}
    assert len(node_ids) == len(brokers)
    (voters,) = {properties["controller.quorum.voters"] for properties, _ in started.values()}
    expected = {f"{properties['node.id']}@{name}:9093" for name, (properties, _) in started.items()}
    assert set(voters.split(",")) == expected
    (cluster_id,) = {cluster_id for _, cluster_id in started.values()}
    assert cluster_id != "generated-cluster-id"
    for name, (properties, _) in started.items():
        assert properties["advertised.listeners"] == f"SASL_SSL://{name}:9092"
        assert properties["process.roles"] == "broker,controller"
        assert properties["super.users"] == "User:admin;User:CN=kafka"
        mounts = {mount["target"]: mount for mount in brokers[name]["volumes"]}
        assert mounts["/var/lib/kafka/data"]["source"] == f"{name}-data"
        assert mounts["/opt/adminduk/start.sh"]["source"] == str(KAFKA_START_SCRIPT)
        assert brokers[name]["image"] == scale["kafka"]["image"]
        for user in KAFKA_PASSWORDS:
            assert brokers[name]["environment"][user] == scale["kafka"]["environment"][user]


def test_scale_profile_replicates_every_topic_three_times_written_once_two_have_it(
    scale: dict[str, Any], tmp_path: Path
) -> None:
    started = [
        broker_start(broker["environment"], tmp_path / name)[0]
        for name, broker in scale_brokers(scale).items()
    ]
    replicas = {
        properties[key]
        for properties in started
        for key in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
        )
    }
    min_isr = {
        properties[key]
        for properties in started
        for key in ("min.insync.replicas", "transaction.state.log.min.isr")
    }
    created_with = [
        instance["environment"][f"{name.upper()}_KAFKA_REPLICATION_FACTOR"]
        for name in sorted(SERVICES)
        for instance in scale_instances(scale, name).values()
    ]

    assert len(started) == 3
    assert replicas == {"3"}
    assert min_isr == {"2"}
    assert created_with == ["3"] * 2 * len(SERVICES)
    assert min_insync_replicas(3) == 2  # what the services give the topics they create


def test_scale_profile_runs_a_mongodb_replica_set_of_three(scale: dict[str, Any]) -> None:
    members = scale_mongo_members(scale)
    initiate = scale["mongo-replica-set"]
    (replica_set,) = {
        member["command"][member["command"].index("--replSet") + 1] for member in members.values()
    }

    assert set(members) == {"mongo-1", "mongo-2", "mongo-3"}
    assert initiate["environment"]["MONGO_REPLICA_SET"] == replica_set
    hosts = initiate["environment"]["MONGO_MEMBERS"].split(",")
    assert hosts == [f"{name}:27017" for name in sorted(members)]
    assert initiate["command"][:4] == ["mongosh", "--quiet", "--host", "mongo-1"]
    (script,) = initiate["volumes"]
    assert Path(script["source"]) == MONGO_INIT_SCRIPT
    assert initiate["command"][-1] == script["target"]
    script_text = MONGO_INIT_SCRIPT.read_text()
    for read in ("process.env.MONGO_REPLICA_SET", "process.env.MONGO_MEMBERS", "rs.initiate("):
        assert read in script_text
    assert initiate["restart"] == "no"
    for name, member in members.items():
        assert initiate["depends_on"][name]["condition"] == "service_healthy"
        assert member["image"] == scale["mongo"]["image"]
        (volume,) = member["volumes"]
        assert volume["source"] == f"{name}-data"
    for name in SERVICES:
        for instance in scale_instances(scale, name).values():
            url = urlsplit(instance["environment"][f"{name.upper()}_MONGO_URL"])
            assert url.netloc.split(",") == hosts
            assert parse_qs(url.query) == {"replicaSet": [replica_set]}
            ready = instance["depends_on"]["mongo-replica-set"]["condition"]
            assert ready == "service_completed_successfully"


def test_scale_profile_runs_two_instances_of_each_service_as_the_single_one_is(
    services: dict[str, Any], scale: dict[str, Any]
) -> None:
    for name in SERVICES:
        instances = scale_instances(scale, name)
        prefix = name.upper()
        moved = {
            f"{prefix}_{setting}"
            for setting in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_REPLICATION_FACTOR", "MONGO_URL")
        }

        assert set(instances) == {f"{name}-1", f"{name}-2"}
        for instance in instances.values():
            environment = instance["environment"]
            single = services[name]["environment"]
            assert {key: environment[key] for key in set(environment) - moved} == {
                key: single[key] for key in set(single) - moved
            }
            assert instance["volumes"] == services[name]["volumes"]
            assert instance["healthcheck"] == services[name]["healthcheck"]
            assert "ports" not in instance
            acls = instance["depends_on"]["kafka-cluster-acls"]["condition"]
            assert acls == "service_completed_successfully"


def test_scale_profiles_services_bootstrap_from_every_broker(scale: dict[str, Any]) -> None:
    every_broker = {f"{name}:9092" for name in scale_brokers(scale)}
    acls = scale["kafka-cluster-acls"]

    assert set(acls["environment"]["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == every_broker
    assert acls["command"] == scale["kafka-acls"]["command"]
    for broker in scale_brokers(scale):
        assert acls["depends_on"][broker]["condition"] == "service_healthy"
    for name in SERVICES:
        for instance in scale_instances(scale, name).values():
            bootstrap = instance["environment"][f"{name.upper()}_KAFKA_BOOTSTRAP_SERVERS"]
            assert set(bootstrap.split(",")) == every_broker


def test_scale_profiles_proxy_spreads_each_service_over_both_instances(
    services: dict[str, Any], scale: dict[str, Any]
) -> None:
    proxy = scale["proxy"]
    config = proxy_config()
    (mount,) = proxy["volumes"]
    published = {(int(port["published"]), port["target"]) for port in proxy["ports"]}

    assert re.fullmatch(r"haproxy:\d+\.\d+\.\d+-alpine", proxy["image"])
    assert Path(mount["source"]) == PROXY_CONFIG
    assert mount["target"] == "/usr/local/etc/haproxy/haproxy.cfg"
    assert mount["read_only"] is True
    assert config["defaults"]["http-check"] == ["send meth GET uri /healthz"]
    for name in SERVICES:
        instances = scale_instances(scale, name)
        (single_port,) = services[name]["ports"]
        frontend = config[f"frontend {name}"]
        port = f"{name.upper()}_HTTP_PORT"
        upstreams = {server.split()[1] for server in config[f"backend {name}"]["server"]}

        assert frontend["default_backend"] == [name]
        assert frontend["bind"] == [f":{single_port['published']}"]
        assert (int(single_port["published"]), int(single_port["published"])) in published
        assert upstreams == {
            f"{instance}:{service['environment'][port]}" for instance, service in instances.items()
        }
        for instance in instances:
            assert proxy["depends_on"][instance]["condition"] == "service_started"


def test_scale_profile_needs_none_of_the_single_nodes(scale: dict[str, Any]) -> None:
    """Naming the proxy starts the scale deployment and nothing of the default one."""
    needed: set[str] = set()
    waiting = ["proxy"]
    while waiting:
        name = waiting.pop()
        needed.add(name)
        waiting.extend(set(scale[name].get("depends_on", {})) - needed)

    assert needed & {"kafka", "kafka-acls", "mongo", *SERVICES} == set()
    assert {"kafka-1", "mongo-1", "keycloak", "intake-2"} <= needed


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
    tmp_path: Path,
) -> None:
    for key, value in REQUIRED_SETTINGS.items():
        monkeypatch.setenv(key, value)
    tls = BrokerTls(tmp_path / "kafka-tls", name="kafka", hosts=("kafka",)).ensure()
    tls.keystore.chmod(0o644)  # read by the broker container's own user
    monkeypatch.setenv("KAFKA_TLS_DIR", str(tls.directory))
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
