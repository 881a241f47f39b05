from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.processing.adapters.report_names_file import DEFAULT_DISTRICTS
from services.processing.letters.domain.policy import LetterPolicy, Urgency
from shared.config import ServiceSettings

MAX_LETTER_SCAN_BYTES = 50 * 1024 * 1024
"""No scanned letter needs more; a larger setting is refused at start."""

DEFAULT_INSTRUCTIONS = {
    "TINDAK_LANJUTI": "Tindak lanjuti",
    "SIAPKAN_JAWABAN": "Siapkan jawaban",
    "PELAJARI_DAN_LAPORKAN": "Pelajari dan laporkan",
    "KOORDINASIKAN": "Koordinasikan",
    "HADIRI_WAKILI": "Hadiri/wakili",
    "UNTUK_DIKETAHUI": "Untuk diketahui",
    "ARSIPKAN": "Arsipkan",
}


class ProcessingSettings(ServiceSettings):
    """Processing's settings, read from PROCESSING_* variables."""

    model_config = SettingsConfigDict(env_prefix="PROCESSING_", extra="ignore", frozen=True)

    http_port: int = 8002
    mongo_database: str = "adminduk_processing"
    consumer_group: str = "processing"
    consumer_fetch_wait_ms: int = Field(default=500, ge=0, le=5000)
    """A case is opened for staff, who see it within a second or two; its handlers already wait
    up to `write_batch_delay_s` for their batch write."""

    required_in_production: ClassVar[tuple[str, ...]] = (
        *ServiceSettings.required_in_production,
        "topic_keys",
    )

    deadline_sweep_interval_s: float = Field(default=10.0, gt=0)
    """How often due deadline timers are looked for (they fire within a minute and this)."""
    write_batch_delay_s: float = Field(default=1.0, ge=0)
    """How long queue slots, deadline timers and report counts wait for others to be written
    with: the handlers of case events take this much longer, and each batch is one write."""
    write_batch_max: int = Field(default=16, ge=1)
    """A batch is written at once when it holds this many; keep it below the consumer's
    concurrency, since each waiting handler holds a place."""
    report_compaction_interval_s: float = Field(default=60.0, gt=0)
    """How often the monthly report's counts are folded into its month documents (reading the
    report adds those not folded yet, so it is exact either way)."""
    known_cases: int = Field(default=10_000, ge=1)
    """Cases whose facts the consumer keeps in memory, so handlers read nothing back."""
    letter_reply_days: dict[Urgency, int] = Field(
        default={Urgency.BIASA: 5, Urgency.SEGERA: 2, Urgency.SANGAT_SEGERA: 1}
    )
    """Working days to reply to a letter that sets no date of its own, by urgency."""
    letter_instructions: dict[str, str] = Field(default=DEFAULT_INSTRUCTIONS, min_length=1)
    """The instructions a disposition may carry: code → wording."""
    letter_reminder_fraction: float = Field(default=0.8, gt=0, lt=1)
    """Share of a disposition's working time after which its holder is reminded."""
    letter_due_soon_hours: float = Field(default=8.0, gt=0)
    """Working hours before a deadline from which a disposition counts as due soon."""
    max_letter_scan_bytes: int = Field(default=8 * 1024 * 1024, ge=1, le=MAX_LETTER_SCAN_BYTES)
    """The largest scanned letter accepted. It is stored and sent a chunk at a time, so this
    bounds what one upload puts in the database and how long it takes, not memory."""
    letter_scan_timeout_s: float = Field(default=120.0, gt=0)
    """How long a scan upload's body may take to arrive."""
    districts_file: Path = DEFAULT_DISTRICTS
    """The regency's kecamatan by Kemendagri code, which the monthly report names districts by
    (JSON, kept by the office); checked in full at start."""
    staff_directory: Path | None = None
    """The office's staff directory (the JSON file notify reads, NOTIFY_STAFF_DIRECTORY), which
    the monthly report names officers by; checked in full at start. Without it, or for an
    officer it lacks, the report shows the token subject."""

    def letter_policy(self) -> LetterPolicy:
        missing = set(Urgency) - set(self.letter_reply_days)
        if missing:
            raise ValueError(f"PROCESSING_LETTER_REPLY_DAYS lacks {sorted(missing)}")
        return LetterPolicy(
            reply_days=dict(self.letter_reply_days),
            instructions=dict(self.letter_instructions),
            reminder_fraction=self.letter_reminder_fraction,
        )
