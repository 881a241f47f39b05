from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.intake.adapters.catalogue_file import DEFAULT_CATALOGUE
from shared.config import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake's settings, read from INTAKE_* variables."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    http_port: int = 8001
    mongo_database: str = "adminduk_intake"
    consumer_group: str = "intake"
    citizen_signing_key: SecretStr | None = None
    citizen_issuer: str = "urn:adminduk:intake:citizens"
    catalogue_file: Path = DEFAULT_CATALOGUE
    """The service catalogue (JSON); checked in full at start."""
    submissions_per_minute: int = Field(default=30, ge=1)
    lookups_per_minute: int = Field(default=10, ge=1)
    sign_ins_per_minute: int = Field(default=10, ge=1)

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "citizen_signing_key",
    )

    def rate_limits(self) -> dict[str, int]:
        """Calls per minute and client on the public routes, by the name the access table uses."""
        return {
            "submissions": self.submissions_per_minute,
            "lookups": self.lookups_per_minute,
            "sign_ins": self.sign_ins_per_minute,
        }
