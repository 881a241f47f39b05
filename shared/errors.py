"""What a failure means: retry it, give up on the event, or refuse a call with a reason.

Free of I/O libraries, so that domain modules may raise these; which engine errors pass by
themselves is `shared/transient.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class InvalidConfiguration(ValueError):
    """A service cannot start with the configuration it was given; the message says what to fix,
    never a secret value."""


class RetryableError(Exception):
    """A handler lost a race it can win by trying again (e.g. two appenders at one position)."""


class AwaitingEarlierEvent(RetryableError):
    """A handler needs what another event of its key brings, and that event has not been handled
    yet: it overtook it on the way (e.g. a request's document before the request). The consumer
    lets the events behind it go first, so the one it waits for can arrive."""


class PoisonEvent(Exception):
    """An event a consumer can never handle; it goes straight to the dead-letter topic."""


class Kind(StrEnum):
    """What a refusal says about the asking, in the domain's words; the HTTP layer gives each
    kind its status in one place (`shared.http.error_bodies`)."""

    NOT_FOUND = "not_found"
    """Nothing the caller may see has this id."""
    FORBIDDEN = "forbidden"
    """It exists, but this caller may not do this to it."""
    CONFLICT = "conflict"
    """Its state does not allow it (any more): it changed, or was done before."""
    INVALID = "invalid"
    """What was sent breaks a rule; sending something else can succeed."""
    UNAVAILABLE = "unavailable"
    """Not now: the same call can succeed later, after `retry_after_s` if it says."""
    LIMITED = "limited"
    """Tried too often: the same call is refused until `retry_after_s` passed."""


class Refusal(Exception):
    """A domain rule or use case declining what it was asked: a stable English `code` to act on,
    a plain Indonesian `message`, and the `kind` of refusal; each exception keeps its own code
    and message beside it, so that routes only call and view."""

    def __init__(
        self,
        code: str,
        message: str,
        kind: Kind,
        *,
        details: Mapping[str, str] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind
        self.details = dict(details or {})
        """Reason by field, for a refusal that is about particular fields."""
        self.retry_after_s = retry_after_s
        """For UNAVAILABLE (else the HTTP layer's default) and LIMITED: when to try again, in
        seconds."""


class Conflict(Refusal):
    """Someone else changed the thing between reading and writing it: the caller looks again.
    The code and message say what changed, as each feature words it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message, Kind.CONFLICT)


class ApiError(Exception):
    """Raised at the edge for a refusal of the exchange itself, which no domain rule or use case
    makes (a token or signature, a body's syntax, size, type or pace, an admission limit): a
    status, a stable code, a reason."""

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
