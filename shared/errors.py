"""What a failure means: retry it, give up on the event, or refuse an HTTP call with a reason."""

from __future__ import annotations

from collections.abc import Mapping

from aiokafka.errors import KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError


class InvalidConfiguration(ValueError):
    """A service cannot start with the configuration it was given; the message says what to fix,
    never a secret value."""


class RetryableError(Exception):
    """A handler lost a race it can win by trying again (e.g. two appenders at one position)."""


class PoisonEvent(Exception):
    """An event a consumer can never handle; it goes straight to the dead-letter topic."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaError,
    TimeoutError,
    RetryableError,
)
"""Failures that pass by themselves: retried with backoff for as long as they last."""

# Server answers that mean "not now": shutting down, stepping down, or lock contention (write
# conflicts are told apart by `is_write_conflict`).
TRANSIENT_SERVER_CODES = frozenset({6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435})
TRANSIENT_LABELS = ("RetryableWriteError", "TransientTransactionError")
WRITE_CONFLICT = 112


def is_write_conflict(exc: BaseException) -> bool:
    """Another writer changed the document first: MongoDB's WriteConflict, or the local engine's
    version guard refusing a write based on a stale read (devstack/ferretdb/tables.sql)."""
    return isinstance(exc, OperationFailure) and (
        exc.code == WRITE_CONFLICT or "SQLSTATE 40001" in str(exc)
    )


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same work later can succeed without anyone changing anything."""
    if isinstance(exc, TRANSIENT_ERRORS) or is_write_conflict(exc):
        return True
    if isinstance(exc, PyMongoError) and any(map(exc.has_error_label, TRANSIENT_LABELS)):
        return True
    return isinstance(exc, OperationFailure) and exc.code in TRANSIENT_SERVER_CODES


class ApiError(Exception):
    """Raised by routes for a refusal a client can act on: a status, a stable code, a reason."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details or {})
        """Reason by field, for a refusal that is about particular fields."""

    @classmethod
    def retry_later(cls, seconds: int, code: str, message: str) -> ApiError:
        """429 with the `Retry-After` the caller waits for: every limit answers this way."""
        return cls(429, code, message, {"Retry-After": str(seconds)})
