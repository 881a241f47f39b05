"""Which failures pass by themselves, told apart by the engines' own errors: retried with
backoff for as long as they last. Apart from `shared/errors.py` because it imports the Kafka and
MongoDB clients, which domain modules must not."""

from __future__ import annotations

from aiokafka.errors import KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from shared.errors import RetryableError

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
CURSOR_NOT_FOUND = 43
INTERNAL_ERROR = 1
LOST_CONNECTION = "run exits"
"""How FerretDB words an InternalError whose client connection ended under a live cursor."""
PAST_DEADLINE = "i/o timeout"
"""How FerretDB words an InternalError whose PostgreSQL query ran past the operation's deadline
(the driver's `maxTimeMS`), where MongoDB answers MaxTimeMSExpired."""


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
    return isinstance(exc, OperationFailure) and (
        exc.code in TRANSIENT_SERVER_CODES or _lost_cursor(exc) or past_deadline(exc)
    )


def past_deadline(exc: BaseException) -> bool:
    """The engine gave up on the operation when its time ran out: as much a timeout as the
    driver's own, and like it a write so cut off may still land."""
    if not isinstance(exc, PyMongoError):
        return False
    return exc.timeout or _engine_internal(exc, PAST_DEADLINE)


def _lost_cursor(exc: OperationFailure) -> bool:
    """A cursor the engine no longer holds (its connection ended, a timeout or a restart):
    reading again from the start finds what it would have given."""
    return exc.code == CURSOR_NOT_FOUND or _engine_internal(exc, LOST_CONNECTION)


def _engine_internal(exc: BaseException, wording: str) -> bool:
    """FerretDB's InternalError with `wording` in it: it tells its failures apart only in words."""
    return isinstance(exc, OperationFailure) and exc.code == INTERNAL_ERROR and wording in str(exc)
