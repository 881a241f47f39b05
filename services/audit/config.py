from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class AuditSettings(ServiceSettings):
    """Audit's settings, read from AUDIT_* variables."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", frozen=True)

    http_port: int = 8004
    mongo_database: str = "adminduk_audit"
    consumer_group: str = "audit"
    pseudonym_key: SecretStr | None = None

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "pseudonym_key",
    )
