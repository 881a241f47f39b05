from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.audit.domain.integrity.context import Thresholds
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
    checkpoint_interval_s: float = Field(default=5.0, gt=0)
    """How often entries that arrived are added to the tree and a checkpoint signed."""
    stream_max_followers: int = Field(default=50, ge=1)
    """Live streams of the log open at once; beyond, a new one is refused with 503."""
    stream_poll_interval_s: float = Field(default=1.0, gt=0)
    """How often audit looks up the log's end for entries other audit instances appended."""
    append_linger_s: float = Field(default=0.1, ge=0)
    """How long an arriving event waits for others to share its write to the log."""
    consumer_fetch_wait_ms: int = Field(default=500, ge=0, le=5000)
    """The log's writes gather events anyway (`append_linger_s`); fetches that gather them too
    spare the broker a fetch per event over every topic's partitions."""
    consumer_concurrency: int = Field(default=500, ge=1, le=1000)
    """Events taken at once: each waits only for the log's next write, which takes all of them
    (up to a batch of 500), so it bounds the batch; at the services' 32 a log that fell behind
    caught up 32 entries a write."""
    entries_topic_interval_s: float = Field(default=1.0, gt=0)
    """How often the entries appended since are published to the entries topic, in one go."""
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    """The quiet time after which a stream sends a comment, so proxies keep it open."""
    integrity_interval_s: float = Field(default=2.0, gt=0)
    """How often the integrity rules read the entries logged since they last looked; their
    position and memory are saved once per round."""
    integrity_bulk_reads_per_day: int = Field(default=20, ge=1)
    """Reads of cases an officer never held, in one WIB day, that raise an alert."""
    integrity_send_backs_per_request: int = Field(default=3, ge=2)
    """Send-backs of one request to the citizen that raise an alert."""
    integrity_breaches_per_officer_month: int = Field(default=3, ge=2)
    """Deadline breaches by one officer in one WIB month that raise a pattern alert."""
    integrity_queue_reasons: frozenset[str] = Thresholds().valid_queue_reasons
    """Reasons for taking a case out of queue order that raise no alert (a JSON list)."""
    integrity_memory_days: int = Field(default=120, ge=31)
    """How long the rules remember a request, or an officer's day or month, after last seeing it."""
    staff_directory: Path | None = None
    """The office's staff directory (JSON) for the self-dealing rule; see the README. Without
    one the rule has no officer to compare, so production refuses to start without it."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "topic_keys",
        "pseudonym_key",
        "checkpoint_key",
        "staff_directory",
    )

    @field_validator("checkpoint_origin")
    @classmethod
    def _origin_is_a_key_name(cls, origin: str) -> str:
        if not valid_key_name(origin):
            raise ValueError("the origin names the signing key: no spaces and no '+'")
        return origin
