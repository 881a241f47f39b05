from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.notify.adapters.providers import ProviderAccounts
from services.notify.adapters.sms_gateway import SmsGatewayAccount
from services.notify.adapters.smtp_email import SmtpServer, TlsMode
from services.notify.adapters.staff_contacts_file import SAMPLE_STAFF_DIRECTORY
from services.notify.adapters.templates_file import DEFAULT_TEMPLATES
from services.notify.adapters.whatsapp_cloud import WhatsAppAccount
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import ChannelLimit
from shared.auth import TrustedIssuer, citizen_issuer
from shared.config import ServiceSettings
from shared.errors import InvalidConfiguration
from shared.events.models.values import DeliveryChannel
from shared.recipient_crypto import RecipientOpener

LOCAL_SURVEY_URL = "http://127.0.0.1:8080/survei"
"""Where a completed request's survey link points outside production, when none is set."""
LOCAL_SMS_GATEWAY_URL = "http://127.0.0.1:8009"
LOCAL_SMTP_HOST, LOCAL_SMTP_PORT = "127.0.0.1", 8025
LOCAL_WHATSAPP_PHONE_NUMBER_ID = "100000000000001"
LOCAL_SMTP_FROM = "Dispendukcapil <noreply@adminduk.local>"
"""Outside production, messages go to the loopback providers `scripts/run` starts
(`devstack/message_sink.py`) unless these are set."""
SMTP_PORTS: dict[TlsMode, int] = {"none": 25, "starttls": 587, "tls": 465}


class NotifySettings(ServiceSettings):
    """Notify's settings, read from NOTIFY_* variables."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", frozen=True)

    http_port: int = 8003
    mongo_database: str = "adminduk_notify"
    consumer_group: str = "notify"
    consumer_fetch_wait_ms: int = Field(default=100, ge=0, le=5000)
    """Citizens wait for its messages, a sign-in code above all, so its fetches gather for no
    longer than goes unnoticed; from ten events a second on, each fetch brings several."""
    whatsapp_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = Field(default="v21.0", pattern=r"^v\d+\.\d+$")
    whatsapp_phone_number_id: str | None = Field(default=None, pattern=r"^\d+$")
    """The Cloud API's id of the office's WhatsApp Business number (not the number itself)."""
    whatsapp_access_token: SecretStr | None = None
    whatsapp_timeout_s: float = Field(default=10.0, gt=0)
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    sms_timeout_s: float = Field(default=10.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    """By default 587 for STARTTLS, 465 for implicit TLS, 25 without."""
    smtp_tls: TlsMode = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    """The `From` of e-mails, e.g. `Dispendukcapil <noreply@dukcapil.example.go.id>`."""
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    max_delivery_attempts: int = 8
    retry_sweep_interval_s: float = 5.0
    delivery_concurrency: int = Field(default=8, ge=1)
    """Provider calls at once, per channel."""
    whatsapp_rate_per_s: float = Field(default=20.0, gt=0)
    sms_rate_per_s: float = Field(default=10.0, gt=0)
    email_rate_per_s: float = Field(default=5.0, gt=0)
    """Sends a second per provider, with bursts of as many."""
    delivery_lease_s: float = Field(default=60.0, gt=0)
    """How long an attempt counts as in flight: longer than any provider's timeout."""
    uncertain_window_s: float = Field(default=900.0, ge=0)
    """How long an attempt that may have gone out waits for a delivery status before its
    message moves on to the next channel."""
    templates_file: Path = DEFAULT_TEMPLATES
    """The message templates (JSON); checked in full at start."""
    staff_directory: Path | None = None
    """The office's staff directory (JSON): who gets deadline and disposition notices; checked
    in full at start. Outside production the local sample is used when none is set."""
    survey_url: str | None = None
    """The satisfaction survey; a completed request's link is this and its tracking number."""
    quiet_hours: bool = True
    """Hold messages that can wait between 21:00 and 06:00 WIB; tests that run the whole stack
    at any hour switch it off."""
    sms_report_secret: SecretStr | None = None
    """Shared with the SMS gateway, which signs every delivery report with it (X-Sms-Signature)."""
    citizen_token_key: str | None = None
    """Intake's public key for citizens' tokens (PEM), so citizens read their own messages;
    outside production, derived from intake's locally made signing key when not set."""
    citizen_issuer: str = "urn:adminduk:intake:citizens"
    sign_in_code_keys: SecretStr | None = None
    """X25519 private keys that open the sign-in codes intake seals to notify: 64 hex characters
    each, comma-separated, the current one first (its public key is INTAKE_SIGN_IN_CODE_KEY)."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "topic_keys",
        "sms_report_secret",
        "citizen_token_key",
        "sign_in_code_keys",
        "whatsapp_phone_number_id",
        "whatsapp_access_token",
        "sms_gateway_url",
        "sms_gateway_token",
        "smtp_host",
        "smtp_from",
        "survey_url",
        "staff_directory",
    )

    @property
    def survey_link(self) -> str:
        """The survey; production refuses to start without one (`check_production`)."""
        return self.survey_url or LOCAL_SURVEY_URL

    @property
    def staff_directory_file(self) -> Path:
        """The staff directory; production refuses to start without one (`check_production`)."""
        return self.staff_directory or SAMPLE_STAFF_DIRECTORY

    def quiet(self) -> QuietHours | None:
        return QuietHours() if self.quiet_hours else None

    def channel_limits(self) -> dict[DeliveryChannel, ChannelLimit]:
        rates = {
            DeliveryChannel.WHATSAPP: self.whatsapp_rate_per_s,
            DeliveryChannel.SMS: self.sms_rate_per_s,
            DeliveryChannel.EMAIL: self.email_rate_per_s,
        }
        return {
            channel: ChannelLimit(
                rate_per_s=rate, burst=max(rate, 1.0), concurrency=self.delivery_concurrency
            )
            for channel, rate in rates.items()
        }

    def provider_accounts(self) -> ProviderAccounts:
        """The three providers; outside production, what is not set points at the loopback
        providers and their tokens are made locally (production refuses to start without them,
        `check_production`)."""
        smtp_host = self.smtp_host or LOCAL_SMTP_HOST
        smtp_tls = self.smtp_tls if self.smtp_host else "none"
        local_smtp_port = None if self.smtp_host else LOCAL_SMTP_PORT
        password = self.smtp_password.get_secret_value() if self.smtp_password else None
        return ProviderAccounts(
            whatsapp=WhatsAppAccount(
                base_url=self.whatsapp_base_url,
                api_version=self.whatsapp_api_version,
                phone_number_id=self.whatsapp_phone_number_id or LOCAL_WHATSAPP_PHONE_NUMBER_ID,
                access_token=self.secret(
                    "NOTIFY_WHATSAPP_ACCESS_TOKEN", self.whatsapp_access_token
                ).get_secret_value(),
                timeout_s=self.whatsapp_timeout_s,
            ),
            sms=SmsGatewayAccount(
                url=self.sms_gateway_url or LOCAL_SMS_GATEWAY_URL,
                token=self.secret(
                    "NOTIFY_SMS_GATEWAY_TOKEN", self.sms_gateway_token
                ).get_secret_value(),
                timeout_s=self.sms_timeout_s,
            ),
            smtp=SmtpServer(
                host=smtp_host,
                port=self.smtp_port or local_smtp_port or SMTP_PORTS[smtp_tls],
                tls=smtp_tls,
                sender=self.smtp_from or LOCAL_SMTP_FROM,
                timeout_s=self.smtp_timeout_s,
                username=self.smtp_username or None,
                password=password or None,
            ),
        )

    def sign_in_code_opener(self) -> RecipientOpener:
        """Opens the sign-in codes sealed to notify; outside production its key is made once in
        the local secrets folder, where intake finds its public half."""
        keys = self.secret("NOTIFY_SIGN_IN_CODE_KEYS", self.sign_in_code_keys)
        try:
            return RecipientOpener.from_hex(keys.get_secret_value())
        except ValueError as exc:
            raise InvalidConfiguration(f"NOTIFY_SIGN_IN_CODE_KEYS: {exc}") from None

    def citizen_tokens(self) -> TrustedIssuer:
        """Intake's tokens for citizens who proved their phone, trusted as the citizen role only:
        its public key, or outside production intake's locally made seed."""
        if self.citizen_token_key:
            key = serialization.load_pem_public_key(self.citizen_token_key.encode())
            if not isinstance(key, Ed25519PublicKey):
                raise InvalidConfiguration("NOTIFY_CITIZEN_TOKEN_KEY must be an Ed25519 public key")
        else:
            seed = self.secret("INTAKE_CITIZEN_SIGNING_KEY", None).get_secret_value()
            key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)).public_key()
        return citizen_issuer(key, issuer=self.citizen_issuer, audience=self.oidc_audience)
