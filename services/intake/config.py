from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake's settings, read from INTAKE_* variables."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    http_port: int = 8001
    mongo_database: str = "adminduk_intake"
