from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.intake.adapters.catalogue_file import DEFAULT_CATALOGUE
from services.intake.appointments.service_points_file import DEFAULT_SERVICE_POINTS
from services.intake.conversations.whatsapp_media import META_MEDIA_HOSTS
from services.intake.domain.message_caps import MessageCapRules
from services.intake.domain.sign_in import SignInRules
from shared.access import STAFF_LIMIT
from shared.config import ServiceSettings
from shared.errors import InvalidConfiguration
from shared.recipient_crypto import RecipientOpener, RecipientSealer


class IntakeSettings(ServiceSettings):
    """Intake's settings, read from INTAKE_* variables."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore", frozen=True)

    http_port: int = 8001
    mongo_database: str = "adminduk_intake"
    consumer_group: str = "intake"
    consumer_fetch_wait_ms: int = Field(default=500, ge=0, le=5000)
    """It follows case steps into the requests a citizen looks up, where half a second goes
    unseen; it reads every case event to find them."""
    citizen_signing_key: SecretStr | None = None
    citizen_issuer: str = "urn:adminduk:intake:citizens"
    catalogue_file: Path = DEFAULT_CATALOGUE
    """The service catalogue (JSON); checked in full at start."""
    service_points_file: Path = DEFAULT_SERVICE_POINTS
    """The service points taking visits, their slots and capacities (JSON); checked at start."""
    booking_horizon_days: int = Field(default=30, ge=1, le=366)
    """How many days ahead a visit may be booked."""
    submissions_per_minute: int = Field(default=30, ge=1)
    lookups_per_minute: int = Field(default=10, ge=1)
    sign_ins_per_minute: int = Field(default=10, ge=1)
    staff_calls_per_minute: int = Field(default=120, ge=1)
    """A member of staff's calls to the limited routes together, counted per person instead of
    the per-address limits above."""
    wrong_lookups_per_hour: int = Field(default=5, ge=1)
    """Look-ups of one tracking number with the wrong NIK digits, from anywhere, after which it
    is locked until the hour ends."""
    sign_in_codes_per_minute: int = Field(default=60, ge=1)
    """Sign-in codes sent in one minute to all phones together, counted in the database so
    that every instance keeps to the one cap."""
    messages_per_phone_day: int = Field(default=10, ge=1)
    """Receipts, visit confirmations and complaint acknowledgements a phone may be sent in a day
    on forms from callers who did not prove it."""
    messages_per_minute: int = Field(default=120, ge=1)
    """Such messages the office sends in a minute, across instances."""
    sign_in_codes_per_phone_hour: int = Field(default=5, ge=1)
    sign_in_codes_per_phone_day: int = Field(default=10, ge=1)
    sign_in_resend_after_s: int = Field(default=60, ge=1)
    """How long a phone waits between two codes."""
    sign_in_wrong_codes_per_lockout: int = Field(default=5, ge=1)
    sign_in_first_lockout_s: int = Field(default=15 * 60, ge=1)
    sign_in_longest_lockout_s: int = Field(default=24 * 60 * 60, ge=1)
    """Each lockout of a phone lasts twice the one before, up to this."""
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    """The most a document upload's body may hold, whatever its requirement allows (which is
    checked too); other routes keep `max_body_bytes`."""
    document_timeout_s: float = Field(default=120.0, gt=0)
    """How long a document upload's body may take to arrive."""
    whatsapp_app_secret: SecretStr | None = None
    """The Meta app's secret, which signs every webhook delivery (X-Hub-Signature-256)."""
    whatsapp_verify_token: SecretStr | None = None
    """What Meta's verification challenge must name when the webhook is set up."""
    whatsapp_access_token: SecretStr | None = None
    """The Cloud API token that fetches the photos and files citizens send."""
    whatsapp_graph_url: str = "https://graph.facebook.com/v21.0"
    """The Graph API; https in production, where a local stand-in over http would be refused."""
    whatsapp_media_hosts: frozenset[str] = META_MEDIA_HOSTS
    """Hosts besides the Graph API's that its media urls may name, reached over https only: the
    access token goes with each download (a JSON list)."""
    whatsapp_media_timeout_s: float = Field(default=10.0, gt=0)
    """How long fetching one photo or file may take in all."""
    sms_webhook_secret: SecretStr | None = None
    """Shared with the SMS gateway, which signs every delivery with it (X-Sms-Signature)."""
    sign_in_code_key: str | None = None
    """Notify's X25519 public key (64 hex characters) that sign-in codes are sealed to: public,
    so intake cannot open the codes it sends."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "topic_keys",
        "citizen_signing_key",
        "sign_in_code_key",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
        "whatsapp_access_token",
        "sms_webhook_secret",
        "trusted_proxies",
    )

    def check_production(self) -> None:
        """Also refuses a Graph API reached over plain http: the access token goes with every
        call."""
        super().check_production()
        if self.environment == "production" and not self.whatsapp_graph_url.startswith("https://"):
            raise InvalidConfiguration("INTAKE_WHATSAPP_GRAPH_URL must be https in production")

    def message_cap_rules(self) -> MessageCapRules:
        return MessageCapRules(
            per_phone_day=self.messages_per_phone_day, per_minute=self.messages_per_minute
        )

    def sign_in_code_sealer(self) -> RecipientSealer:
        """Seals sign-in codes to notify: its public key, or outside production the public half
        of notify's locally made key (intake keeps no private key either way)."""
        if self.sign_in_code_key:
            try:
                return RecipientSealer.from_hex(self.sign_in_code_key)
            except ValueError:
                raise InvalidConfiguration(
                    "INTAKE_SIGN_IN_CODE_KEY must be notify's X25519 public key, 64 hex characters"
                ) from None
        private = self.secret("NOTIFY_SIGN_IN_CODE_KEYS", None).get_secret_value()
        return RecipientOpener.from_hex(private).sealer

    def sign_in_rules(self) -> SignInRules:
        return SignInRules(
            resend_after=timedelta(seconds=self.sign_in_resend_after_s),
            codes_per_hour=self.sign_in_codes_per_phone_hour,
            codes_per_day=self.sign_in_codes_per_phone_day,
            codes_per_minute=self.sign_in_codes_per_minute,
            wrong_codes_per_lockout=self.sign_in_wrong_codes_per_lockout,
            first_lockout=timedelta(seconds=self.sign_in_first_lockout_s),
            longest_lockout=timedelta(seconds=self.sign_in_longest_lockout_s),
        )

    def rate_limits(self) -> dict[str, int]:
        """Calls per minute and caller on the limited routes, by the name the access table uses,
        and of each member of staff on all of them together."""
        return {
            "submissions": self.submissions_per_minute,
            "lookups": self.lookups_per_minute,
            "sign_ins": self.sign_ins_per_minute,
            STAFF_LIMIT: self.staff_calls_per_minute,
        }
