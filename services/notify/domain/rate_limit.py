"""A provider's rate limit: a token bucket per channel, on a clock the caller gives."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChannelLimit:
    """How hard one channel's provider may be pushed: sends a second, in bursts of up to
    `burst`, and calls at once."""

    rate_per_s: float
    burst: float
    concurrency: int


@dataclass
class TokenBucket:
    """Up to `burst` sends at once, then `rate_per_s` a second.

    `reserve` takes a token now or, when the bucket is empty, the next one to come and says how
    long to wait for it: callers that reserve in turn are spaced out evenly.
    """

    rate_per_s: float
    burst: float
    _tokens: float = field(init=False)
    _at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and room for one send")
        self._tokens = self.burst

    def reserve(self, now: float) -> float:
        """Takes one token; returns the seconds from `now` until it may be used."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
