"""One settings class per service, all shaped alike; each reads its own env prefix."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]


class ServiceSettings(BaseSettings):
    """Connection and process settings every service has; subclasses set the env prefix."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = "development"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_replication_factor: int = 1
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = "adminduk"
    log_level: str = "INFO"
    local_secrets_dir: Path = Path(".local/secrets")
    shutdown_timeout_s: float = 15.0
    max_body_bytes: int = 64 * 1024
    body_timeout_s: float = Field(default=10.0, gt=0)
    database_timeout_s: float = Field(default=2.0, gt=0)
    http_idle_timeout_s: int = Field(default=5, ge=1)
    consumer_concurrency: int = Field(default=32, ge=1, le=1000)

    def secret(self, name: str, configured: SecretStr | None) -> SecretStr:
        """The configured secret; outside production, a random one made once and kept locally."""
        if configured is not None and configured.get_secret_value():
            return configured
        if self.environment == "production":
            raise ValueError(f"{name} must be set in production")
        return SecretStr(local_secret(self.local_secrets_dir, name))


def local_secret(directory: Path, name: str) -> str:
    """Reads a development secret from `directory`, creating it (owner-only) on first use."""
    path = directory / name
    if path.is_file() and (stored := path.read_text().strip()):
        return stored
    directory.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    partial = directory / f".{name}.{secrets.token_hex(4)}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    partial.replace(path)
    return value
