"""Admission control: who may start a request now. Knows no HTTP (the limits middleware asks it).

- A global cap on requests in flight (`CONVOAI_MAX_INFLIGHT`): beyond it, 503 + `Retry-After`.
- Per caller (the API key when auth is on and the key is valid, else the client address): a token
  bucket of requests (`CONVOAI_RATE_LIMIT_RPS` refill, `CONVOAI_RATE_LIMIT_BURST` size) and a cap on
  concurrent streams (`CONVOAI_MAX_STREAMS_PER_KEY`): beyond them, 429 + `Retry-After`.

``Limiter`` counts in this process; ``RedisLimiter`` (``core/redis_admission.py``, chosen by
``CONVOAI_REDIS_URL``) shares the rate limits and stream caps of every replica in Redis.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from convoai_llm.errors import RateLimited, Unavailable
from convoai_llm.lifecycle import Idle
from convoai_llm.settings import LimitsSettings

MAX_TRACKED_CALLERS = 100_000
TicketT = TypeVar("TicketT")


class Limits(Protocol[TicketT]):
    """Admission control: ``acquire`` admits one request or raises (429/503); ``release`` ends it."""

    async def acquire(self, caller: str, *, rate: bool = True) -> TicketT: ...

    async def release(self, ticket: TicketT) -> None: ...

    async def start(self) -> None: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float
    streams: int = 0


class Limiter(Idle):
    def __init__(self, rps: float, burst: int, per_key_streams: int, max_inflight: int) -> None:
        self.rps = rps
        self.burst = max(1, burst)
        self.per_key_streams = per_key_streams
        self.max_inflight = max_inflight
        self.inflight = 0
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def _bucket(self, caller: str, now: float) -> Bucket:
        bucket = self._buckets.get(caller)
        if bucket is None:
            bucket = Bucket(float(self.burst), now)
            self._buckets[caller] = bucket
            if len(self._buckets) > MAX_TRACKED_CALLERS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(caller)
        return bucket

    async def acquire(self, caller: str, *, rate: bool = True) -> Bucket:
        return self.acquire_now(caller, rate=rate)

    async def release(self, bucket: Bucket) -> None:
        self.release_now(bucket)

    def acquire_now(self, caller: str, *, rate: bool = True) -> Bucket:
        """Admit one request or raise; the caller must `release` the returned bucket. `rate=False`: the
        in-flight and concurrency caps only, no token from the bucket."""
        if self.max_inflight and self.inflight >= self.max_inflight:
            raise Unavailable("The server is at capacity; try again shortly.", retry_after=1)
        now = time.monotonic()
        bucket = self._bucket(caller, now)
        rated = rate and self.rps > 0
        if rated:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rps)
            bucket.updated = now
            if bucket.tokens < 1:
                raise RateLimited(
                    "Rate limit exceeded for this key.", retry_after=math.ceil((1 - bucket.tokens) / self.rps)
                )
        if self.per_key_streams and bucket.streams >= self.per_key_streams:
            raise RateLimited("Too many concurrent streams for this key.", retry_after=1)
        if rated:
            bucket.tokens -= 1
        bucket.streams += 1
        self.inflight += 1
        return bucket

    def release_now(self, bucket: Bucket) -> None:
        bucket.streams -= 1
        self.inflight -= 1


def build_limiter(settings: LimitsSettings) -> Limits[Any]:
    """The Redis limiter when ``redis_url`` is set (the ``redis`` extra), else the in-process one."""
    if settings.redis_url:
        from convoai_llm.core.redis_admission import RedisLimiter

        return RedisLimiter.from_settings(settings)
    return Limiter(
        settings.rate_limit_rps, settings.rate_limit_burst, settings.max_streams_per_key, settings.max_inflight
    )
