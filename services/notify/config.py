from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from services.notify.adapters.templates_file import DEFAULT_TEMPLATES
from services.notify.domain.quiet_hours import QuietHours
from shared.config import ServiceSettings

LOCAL_SURVEY_URL = "http://127.0.0.1:8080/survei"
"""Where a completed request's survey link points outside production, when none is set."""


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
    templates_file: Path = DEFAULT_TEMPLATES
    """The message templates (JSON); checked in full at start."""
    survey_url: str | None = None
    """The satisfaction survey; a completed request's link is this and its tracking number."""
    quiet_hours: bool = True
    """Hold messages that can wait between 21:00 and 06:00 WIB; tests that run the whole stack
    at any hour switch it off."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "provider_token",
        "survey_url",
    )

    @property
    def survey_link(self) -> str:
        """The survey; production refuses to start without one (`check_production`)."""
        return self.survey_url or LOCAL_SURVEY_URL

    def quiet(self) -> QuietHours | None:
        return QuietHours() if self.quiet_hours else None
