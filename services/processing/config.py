from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class ProcessingSettings(ServiceSettings):
    """Processing's settings, read from PROCESSING_* variables."""

    model_config = SettingsConfigDict(env_prefix="PROCESSING_", extra="ignore", frozen=True)

    http_port: int = 8002
    mongo_database: str = "adminduk_processing"
    consumer_group: str = "processing"
    deadline_sweep_interval_s: float = Field(default=10.0, gt=0)
    """How often due deadline timers are looked for (they fire within a minute and this)."""
