"""How handlers and background loops say what a failure means: retry it, or give up on the event."""

from __future__ import annotations

from aiokafka.errors import KafkaError
from pymongo.errors import ConnectionFailure


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
