"""When to try an upstream again, and when to move on to a fallback — before the first byte only.

Retried on the same upstream: connection failures and HTTP 429/502/503/504, at most `retries` times,
with jittered exponential backoff; a `Retry-After` longer than `max_wait_s` is not waited for (the
next upstream is tried instead). Moved on to the next upstream: the same errors once retries are
spent, plus first-byte timeouts and any other upstream 5xx. Client errors (400/401/404…) are final:
another attempt would fail the same way. Nothing is retried once a byte has reached the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from convoai_llm.errors import ConvoError, UpstreamStatus, UpstreamTimeout, UpstreamUnavailable

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2
    base_s: float = 0.2
    max_wait_s: float = 2.0

    def retryable(self, exc: ConvoError) -> bool:
        if isinstance(exc, UpstreamUnavailable):
            return True
        return isinstance(exc, UpstreamStatus) and exc.upstream_status in RETRY_STATUSES

    def falls_back(self, exc: ConvoError) -> bool:
        if self.retryable(exc) or isinstance(exc, UpstreamTimeout):
            return True
        return isinstance(exc, UpstreamStatus) and exc.upstream_status >= 500

    def delay(self, attempt: int, exc: ConvoError) -> float | None:
        """Seconds to wait before retry number `attempt` (0-based), or None: do not retry here."""
        if attempt >= self.retries or not self.retryable(exc):
            return None
        if exc.retry_after is not None:
            wait = float(exc.retry_after)
            return wait if wait <= self.max_wait_s else None
        backoff = self.base_s * (2.0**attempt) * random.uniform(0.5, 1.5)
        return min(backoff, self.max_wait_s)
