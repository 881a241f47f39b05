"""JSON log lines on stdout, one object per line, for every service and for uvicorn.

No code logs personal data: errors are logged through `shared.redaction`, which names fields
rather than repeating their values. `RedactPersonalData` is the last line of defence for what
slips through: it catches what has a shape (NIKs, phone numbers, validation inputs) anywhere, and
whole extra fields whose name says they are personal (a name, an applicant, a recipient). A name
in the message text itself is recognisable by no pattern, so it must never be put there.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeAlias

from shared.redaction import format_exception, redact

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
_PLAIN = (int, float, bool, type(None))
_PERSONAL_FIELD = re.compile(
    r"(^|_)(nik|name|phone|applicant|recipient|otp|sign_in_code)(_|$)", re.IGNORECASE
)
REDACTED = "<redacted>"

ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)

    def formatException(self, ei: ExcInfo) -> str:  # noqa: N802 - overrides logging's name
        """The traceback with each exception described safely (see `format_exception`)."""
        return format_exception(ei[1]) if ei[1] is not None else ""


class RedactPersonalData(logging.Filter):
    """Removes NIKs, phone numbers and pydantic's `input_value=...` from every record's message,
    exception text and extra fields before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a message that cannot be formatted is kept, unformatted
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(format_exception(record.exc_info[1]))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key in _RESERVED:
                continue
            if _PERSONAL_FIELD.search(key):
                setattr(record, key, REDACTED)
                continue
            if isinstance(value, _PLAIN):
                continue
            text = value if isinstance(value, str) else str(value)
            if (redacted := redact(text)) != text:
                setattr(record, key, redacted)
        return True


def configure_logging(*, service: str, level: str) -> None:
    """Routes the root logger, and uvicorn's own loggers, through one redacting JSON handler."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RedactPersonalData())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("aiokafka").setLevel(max(root.level, logging.WARNING))
    logging.getLogger("pymongo").setLevel(max(root.level, logging.WARNING))
    # pypdf warns of every flaw of a broken file it reads, quoting the file: a citizen's papers.
    logging.getLogger("pypdf").setLevel(max(root.level, logging.ERROR))
