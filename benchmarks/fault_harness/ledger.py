"""What the run did, as the client saw it: every call, what was accepted, refused and planted."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.fault_harness.books import Invalid, Planted


@dataclass(frozen=True)
class Call:
    at_s: float
    """When it was sent, seconds after the run began."""
    kind: str
    outcome: str
    """The status code, or the name of the error that kept an answer from coming."""
    latency_s: float

    @property
    def ok(self) -> bool:
        return self.outcome.isdigit() and int(self.outcome) < 400


@dataclass(frozen=True)
class Unanswered:
    """A submission without a 2xx: sent again, with its Idempotency-Key, once the run settled.
    `headers` are the caller's own (an app citizen's as they are then)."""

    key: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    first: str
    first_error: str | None = None
    """The error code of the first answer's body, if it had one."""


@dataclass
class Ledger:
    started: float = field(default_factory=time.time)
    calls: list[Call] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    unanswered: list[Unanswered] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    chat_submissions: int = 0
    steps: list[tuple[str, str]] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)
    owners: dict[str, dict[str, str]] = field(default_factory=dict)
    """Request id → the headers of who submitted it, to send documents and resubmit."""

    def now_s(self) -> float:
        return time.time() - self.started
