"""One settings class per service, all shaped alike; each reads its own env prefix."""

from __future__ import annotations

import os
import secrets
from datetime import date
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import ClassVar, Literal, TypeVar, get_args

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.calendar import WorkingCalendar
from shared.crypto import Cipher
from shared.errors import InvalidConfiguration

Environment = Literal["development", "test", "production"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
LOCAL_ISSUER = "http://127.0.0.1:8010"
"""The issuer that `scripts/run` starts, trusted outside production when none is configured."""


class MissingSecrets(InvalidConfiguration):
    """Production settings that lack secrets; names the variables, never a value."""


class ServiceSettings(BaseSettings):
    """Connection and process settings every service has; subclasses set the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment
    """Named by whoever starts the service (`scripts/run` and the tests' stacks say
    `development`, docker-compose.yml `production`): a service left to guess would make its own
    secrets and trust the local issuer."""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_replication_factor: int = 1
    kafka_security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = "SASL_SSL"
    """PLAINTEXT only for a development cluster that asks for nothing; production refuses it."""
    kafka_username: str | None = None
    """Who the service is to the brokers (SCRAM); the service's name unless set."""
    kafka_password: SecretStr | None = None
    kafka_ca_file: Path | None = None
    """The authority the brokers' certificates chain to, if not one the system trusts."""
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = "adminduk"
    log_level: str = "INFO"
    local_secrets_dir: Path = Path(".local/secrets")
    shutdown_timeout_s: float = 15.0
    max_body_bytes: int = 64 * 1024
    body_timeout_s: float = Field(default=10.0, gt=0)
    database_timeout_s: float = Field(default=2.0, gt=0)
    max_concurrent_requests: int = Field(default=12, ge=1)
    """Requests doing database work at once; beyond, a request is refused with 503 at once."""
    http_idle_timeout_s: int = Field(default=5, ge=1)
    consumer_concurrency: int = Field(default=32, ge=1, le=1000)
    consumer_fetch_wait_ms: int = Field(default=0, ge=0, le=5000)
    """How long the broker may hold a fetch to gather events for it; 0 answers as soon as one
    event is there, for consumers a citizen waits on. Every answer carries each partition the
    consumer reads, each in a TLS record and a socket write of its own, so a consumer that
    fetches per event costs the broker and itself that much per event."""
    oidc_issuer: str | None = None
    oidc_audience: str = "adminduk"
    oidc_jwks_url: str | None = None
    data_keys: SecretStr | None = None
    lookup_key: SecretStr | None = None
    topic_keys: SecretStr | None = None
    """Keys of the personal fields in events, by topic (`shared/events/sealing.py`)."""
    trusted_proxies: str = ""
    """Addresses or networks (CIDR), comma-separated, whose X-Forwarded-For is believed."""
    collective_leave: tuple[date, ...] = Field(
        default=(), validation_alias=AliasChoices("collective_leave", "ADMINDUK_COLLECTIVE_LEAVE")
    )
    """Collective-leave days (cuti bersama) the office is closed, as a JSON list of dates; one
    variable for every service, so that intake promises the dates processing keeps."""
    default_service_point: str = Field(
        default="KANTOR_DINAS",
        validation_alias=AliasChoices("default_service_point", "ADMINDUK_DEFAULT_SERVICE_POINT"),
    )
    """Where requests not submitted at a counter are worked on: processing queues their cases
    there, and intake lets that point's officers read their documents."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        "oidc_issuer",
        "data_keys",
        "lookup_key",
        "kafka_password",
    )
    """Settings without which a production service refuses to start; subclasses add theirs."""

    @property
    def env_prefix(self) -> str:
        return str(self.model_config.get("env_prefix", ""))

    def check_production(self) -> None:
        """Raises MissingSecrets naming every required setting that production lacks."""
        if self.environment != "production":
            return
        missing = [
            f"{self.env_prefix}{name.upper()}"
            for name in self.required_in_production
            if not _is_set(getattr(self, name))
        ]
        if missing:
            raise MissingSecrets(f"production needs {', '.join(missing)}")
        if self.kafka_security_protocol != "SASL_SSL":
            raise InvalidConfiguration(
                f"{self.env_prefix}KAFKA_SECURITY_PROTOCOL must be SASL_SSL in production"
            )

    @property
    def kafka_user(self) -> str:
        """The SCRAM user: configured, or the service's name (`INTAKE_` → `intake`)."""
        return self.kafka_username or self.env_prefix.rstrip("_").lower()

    def secret(self, name: str, configured: SecretStr | None) -> SecretStr:
        """The configured secret; outside production, a random one made once and kept locally."""
        if configured is not None and configured.get_secret_value():
            return configured
        if self.environment == "production":
            raise MissingSecrets(f"{name} must be set in production")
        return SecretStr(local_secret(self.local_secrets_dir, name))

    def cipher(self) -> Cipher:
        """Encrypts the personal fields this service stores, with its own keys."""
        data_keys = self.secret(f"{self.env_prefix}DATA_KEYS", self.data_keys)
        lookup_key = self.secret(f"{self.env_prefix}LOOKUP_KEY", self.lookup_key)
        return Cipher.from_hex(
            data_keys=data_keys.get_secret_value(), lookup_key=lookup_key.get_secret_value()
        )

    def calendar(self) -> WorkingCalendar:
        """The office's working days, the same in every service."""
        return WorkingCalendar(collective_leave=self.collective_leave)

    @property
    def issuer(self) -> str:
        """The OpenID Connect issuer of staff tokens."""
        if self.oidc_issuer:
            return self.oidc_issuer
        if self.environment == "production":
            raise MissingSecrets(f"{self.env_prefix}OIDC_ISSUER must be set in production")
        return LOCAL_ISSUER

    @property
    def proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """Peers whose X-Forwarded-For is believed (the TLS proxy or load balancer in front)."""
        return tuple(
            ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        for part in filter(None, (part.strip() for part in value.split(","))):
            try:
                ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an address or a network") from None
        return value


S = TypeVar("S", bound=ServiceSettings)


def load_settings(settings_type: type[S]) -> S:
    """The settings from the process's environment; refused with each variable that is missing or
    invalid named, never its value (it may be a secret)."""
    try:
        return settings_type()
    except ValidationError as exc:
        prefix = str(settings_type.model_config.get("env_prefix", ""))
        problems = exc.errors(include_url=False, include_input=False)
        raise InvalidConfiguration(
            "; ".join(_problem(prefix, error) for error in problems)
        ) from None


def _problem(prefix: str, error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    variable = f"{prefix}{field.upper()}"
    if field == "environment":
        return f"{variable} must name the environment: {', '.join(ENVIRONMENTS)}"
    if error["type"] == "missing":
        return f"{variable} must be set"
    return f"{variable}: {error['msg']}"


def _is_set(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


def local_secret(directory: Path, name: str) -> str:
    """Reads a development secret from `directory`, creating it (owner-only) on first use.

    Processes started together (several instances) may all find it missing: the first to link
    its file in place wins and the others read that one, so that every process holds the same
    key (a key replaced after another process read it would seal what that one cannot open)."""
    path = directory / name
    if path.is_file() and (stored := path.read_text().strip()):
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    partial = directory / f".{name}.{secrets.token_hex(4)}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    try:
        os.link(partial, path)
    except FileExistsError:
        if stored := path.read_text().strip():
            return stored
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return value
