from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class NotifySettings(ServiceSettings):
    """Notify's settings, read from NOTIFY_* variables."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", frozen=True)

    http_port: int = 8003
    mongo_database: str = "adminduk_notify"
    consumer_group: str = "notify"
    provider_url: str = "http://127.0.0.1:8009"
    provider_token: SecretStr | None = None
    provider_timeout_s: float = 10.0
    max_delivery_attempts: int = 8
    retry_sweep_interval_s: float = 5.0
    delivery_concurrency: int = 8

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "provider_token",
    )
