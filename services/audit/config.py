from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.audit.domain.note import valid_key_name
from shared.config import ServiceSettings


class AuditSettings(ServiceSettings):
    """Audit's settings, read from AUDIT_* variables."""

    model_config = SettingsConfigDict(env_prefix="AUDIT_", extra="ignore", frozen=True)

    http_port: int = 8004
    mongo_database: str = "adminduk_audit"
    consumer_group: str = "audit"
    pseudonym_key: SecretStr | None = None
    checkpoint_key: SecretStr | None = None
    """The Ed25519 key that signs checkpoints: PEM, or a seed of 64 hex characters."""
    checkpoint_origin: str = "adminduk.local/audit"
    """The log's name in its checkpoints, and the name of the key that signs them."""
    checkpoint_interval_s: float = Field(default=1.0, gt=0)
    """How often entries that arrived are added to the tree and a checkpoint signed."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "pseudonym_key",
        "checkpoint_key",
    )

    @field_validator("checkpoint_origin")
    @classmethod
    def _origin_is_a_key_name(cls, origin: str) -> str:
        if not valid_key_name(origin):
            raise ValueError("the origin names the signing key: no spaces and no '+'")
        return origin
